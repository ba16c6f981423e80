import { describe, expect, it } from 'vitest';
import {
  MAX_TRACESTATE_LENGTH,
  MAX_TRACESTATE_MEMBERS,
  formatTracestate,
  parseTracestate,
} from './tracestate.js';

const members = (n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => {
    const k = String(i + from).padStart(2, '0');
    return `bar${k}=${k}`;
  });

describe('parseTracestate', () => {
  it('parses the spec examples in order', () => {
    expect(parseTracestate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toEqual([
      { key: 'rojo', value: '00f067aa0ba902b7' },
      { key: 'congo', value: 't61rcWkgMzE' },
    ]);
  });

  it('ignores spaces and tabs around members, and empty members', () => {
    expect(parseTracestate('foo=1 \t , \t bar=2, \t baz=3')).toEqual([
      { key: 'foo', value: '1' },
      { key: 'bar', value: '2' },
      { key: 'baz', value: '3' },
    ]);
    expect(parseTracestate(' ,foo=1,, ,')).toEqual([{ key: 'foo', value: '1' }]);
    expect(parseTracestate('')).toEqual([]);
  });

  it('combines several header fields in order', () => {
    expect(parseTracestate(['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3'])?.map((e) => e.key)).toEqual([
      'foo',
      'bar',
      'rojo',
      'congo',
      'baz',
    ]);
    expect(parseTracestate(['', 'foo=1'])).toEqual([{ key: 'foo', value: '1' }]);
  });

  it('accepts every character the grammar allows in keys and values', () => {
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/@';
    let value = '';
    for (let c = 0x20; c <= 0x7e; c++)
      if (c !== 0x2c && c !== 0x3d) value += String.fromCharCode(c);
    expect(parseTracestate(`${key}=${value}`)).toEqual([{ key, value }]);
    expect(parseTracestate(`0${key}=${value}`)).toEqual([{ key: `0${key}`, value }]);
  });

  it('keeps 32 members', () => {
    expect(parseTracestate(members(32).join(','))).toHaveLength(MAX_TRACESTATE_MEMBERS);
  });

  it('discards a list of 33 members, which the grammar does not allow', () => {
    expect(parseTracestate(members(33).join(','))).toBeUndefined();
    expect(parseTracestate([members(32).join(','), 'bar33=33'])).toBeUndefined();
  });

  it('counts a malformed member toward the 32, as the grammar does', () => {
    expect(parseTracestate([members(32).join(','), 'BAR33=33'])).toBeUndefined();
    expect(parseTracestate([members(32).join(','), ' , ,'])).toHaveLength(32);
  });

  it.each([
    ['a repeated key', 'foo=1,foo=1', [['foo', '1']]],
    [
      'a repeated key with another value',
      'foo=1,bar=2,foo=3',
      [
        ['foo', '1'],
        ['bar', '2'],
      ],
    ],
    [
      'a repeated key across header fields',
      ['foo=1', 'bar=2', 'foo=3'],
      [
        ['foo', '1'],
        ['bar', '2'],
      ],
    ],
    [
      'a key repeated three times',
      'a=1,a=2,b=3,a=4',
      [
        ['a', '1'],
        ['b', '3'],
      ],
    ],
  ])(
    'keeps the first (most recent) entry of %s and the rest of the list',
    (_label, value, kept) => {
      expect(parseTracestate(value)).toEqual(kept.map(([key, v]) => ({ key, value: v })));
    },
  );

  it.each([
    ['a multi-tenant key', 'tenant@system=1'],
    ['a key ending in @', 'foo@=1'],
    ['two @ in a key', 'foo@@bar=1'],
    ['two vendors', 'foo@bar@baz=1'],
    ['a 242-character tenant', `${'t'.repeat(242)}@v=1`],
    ['a 15-character vendor', `t@${'v'.repeat(15)}=1`],
    ['a key starting with a digit', '1vendor=1'],
    ['a 256-character key', `${'z'.repeat(256)}=1`],
  ])('accepts %s, which the current grammar allows', (_label, member) => {
    const key = member.slice(0, member.lastIndexOf('='));
    expect(parseTracestate(`${member},bar=2`)).toEqual([
      { key, value: '1' },
      { key: 'bar', value: '2' },
    ]);
  });

  it.each([
    ['a space in a key', 'foo =1'],
    ['upper case in a key', 'FOO=1'],
    ['a dot in a key', 'foo.bar=1'],
    ['a key starting with @', '@foo=1'],
    ['a key starting with _', '_foo=1'],
    ['an empty key', '=1'],
    ['a 257-character key', `${'z'.repeat(257)}=1`],
    ['an = in a value', 'foo=bar=baz'],
    ['an empty value', 'foo='],
    ['a member without =', 'foo'],
    ['a 257-character value', `foo=${'v'.repeat(257)}`],
    ['a newline in a value', 'foo=a\nb'],
    ['non-ASCII in a value', 'foo=é'],
  ])('drops only the member with %s and keeps the others in order', (_label, member) => {
    expect(parseTracestate(`rojo=1,${member},congo=2`)).toEqual([
      { key: 'rojo', value: '1' },
      { key: 'congo', value: '2' },
    ]);
    expect(parseTracestate([member])).toEqual([]);
  });

  it('accepts a 256-character value, and keeps spaces inside it', () => {
    const value = ` ${'v'.repeat(254)}x`;
    expect(parseTracestate(`foo=${value}`)).toEqual([{ key: 'foo', value }]);
  });
});

describe('formatTracestate', () => {
  it('joins members with commas', () => {
    expect(
      formatTracestate([
        { key: 'rojo', value: '00f067aa0ba902b7' },
        { key: 'congo', value: 't61rcWkgMzE' },
      ]),
    ).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
  });

  it('sends nothing for an empty list', () => {
    expect(formatTracestate([])).toBeUndefined();
  });

  it('keeps a list of exactly 512 characters whole', () => {
    // 16 members of 31 characters plus 15 commas = 511; one more character makes 512.
    const list = Array.from({ length: 16 }, (_, i) => ({
      key: `k${String(i).padStart(2, '0')}`,
      value: 'v'.repeat(i === 0 ? 28 : 27),
    }));
    const value = formatTracestate(list)!;
    expect(value).toHaveLength(MAX_TRACESTATE_LENGTH);
    expect(value.split(',')).toHaveLength(16);
  });

  it('truncates by whole entries from the end when too long', () => {
    const list = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(40) }));
    const value = formatTracestate(list)!;
    expect(value.length).toBeLessThanOrEqual(MAX_TRACESTATE_LENGTH);
    const keys = value.split(',').map((m) => m.split('=')[0]);
    expect(keys).toEqual(list.slice(0, keys.length).map((e) => e.key));
    for (const member of value.split(',')) expect(member).toMatch(/^k\d+=v{40}$/);
  });

  it('drops entries longer than 128 characters before any other', () => {
    const list = [
      { key: 'first', value: 'a'.repeat(100) },
      { key: 'long', value: 'b'.repeat(200) },
      { key: 'third', value: 'c'.repeat(100) },
      { key: 'fourth', value: 'd'.repeat(100) },
      { key: 'fifth', value: 'e'.repeat(100) },
    ];
    expect(
      formatTracestate(list)!
        .split(',')
        .map((m) => m.split('=')[0]),
    ).toEqual(['first', 'third', 'fourth', 'fifth']);
  });

  it('honours a smaller limit', () => {
    expect(
      formatTracestate(
        [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ],
        3,
      ),
    ).toBe('a=1');
    expect(formatTracestate([{ key: 'a', value: '12345' }], 3)).toBeUndefined();
  });

  it('leaves out entries the grammar refuses and repeats of a key, keeping the first', () => {
    expect(
      formatTracestate([
        { key: 'congo', value: 'new' },
        { key: 'Bad', value: '1' },
        { key: 'comma', value: 'a,b' },
        { key: 'rojo', value: '1' },
        { key: 'congo', value: 'old' },
      ]),
    ).toBe('congo=new,rojo=1');
  });

  it('never sends more than 32 members', () => {
    const list = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: '1' }));
    expect(formatTracestate(list)!.split(',')).toHaveLength(32);
  });
});
