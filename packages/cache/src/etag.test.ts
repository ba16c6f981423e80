import { describe, expect, it } from 'vitest';
import { formatEtag, parseEtag, strongMatch, weakMatch } from './etag.js';

describe('parseEtag', () => {
  it('reads strong and weak entity tags', () => {
    expect(parseEtag('"xyzzy"')).toEqual({ weak: false, opaque: '"xyzzy"' });
    expect(parseEtag('W/"xyzzy"')).toEqual({ weak: true, opaque: '"xyzzy"' });
    expect(parseEtag('""')).toEqual({ weak: false, opaque: '""' });
  });

  it('rejects an unquoted value', () => {
    expect(parseEtag('xyzzy')).toBeUndefined();
    expect(parseEtag('W/xyzzy')).toBeUndefined();
  });

  it('rejects a lowercase weak prefix, a stray quote or whitespace inside', () => {
    expect(parseEtag('w/"x"')).toBeUndefined();
    expect(parseEtag('"a"b"')).toBeUndefined();
    expect(parseEtag('"a b"')).toBeUndefined();
    expect(parseEtag('"abc')).toBeUndefined();
  });

  it('ignores surrounding whitespace', () => {
    expect(parseEtag('  "v1" ')).toEqual({ weak: false, opaque: '"v1"' });
  });

  it('returns undefined for an absent value', () => {
    expect(parseEtag(undefined)).toBeUndefined();
  });
});

describe('comparison (RFC 9110 §8.8.3.2)', () => {
  const cases: Array<[string, string, boolean, boolean]> = [
    ['W/"1"', 'W/"1"', false, true],
    ['W/"1"', 'W/"2"', false, false],
    ['W/"1"', '"1"', false, true],
    ['"1"', '"1"', true, true],
  ];
  for (const [a, b, strong, weak] of cases) {
    it(`compares ${a} and ${b}: strong ${strong}, weak ${weak}`, () => {
      const x = parseEtag(a)!;
      const y = parseEtag(b)!;
      expect(strongMatch(x, y)).toBe(strong);
      expect(weakMatch(x, y)).toBe(weak);
    });
  }
});

describe('formatEtag', () => {
  it('writes the tag back as received', () => {
    expect(formatEtag(parseEtag('W/"a"')!)).toBe('W/"a"');
    expect(formatEtag(parseEtag('"a"')!)).toBe('"a"');
  });
});
