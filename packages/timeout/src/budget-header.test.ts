import { pipeline } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '@bulwark/testing';
import {
  formatGrpcTimeout,
  parseGrpcTimeout,
  parseMillis,
  readBudget,
  writeBudget,
} from './budget-header.js';
import { timeout } from './timeout.js';

describe('readBudget()', () => {
  it('reads whole milliseconds from x-bulwark-timeout-ms', () => {
    expect(readBudget({ 'x-bulwark-timeout-ms': '1500' })).toBe(1500);
    expect(readBudget({ 'x-bulwark-timeout-ms': ' 0 ' })).toBe(0);
  });

  it('reads a configurable header from a fetch Headers object', () => {
    const headers = new Headers({ 'X-Request-Timeout': '250' });
    expect(readBudget(headers, { header: 'X-Request-Timeout' })).toBe(250);
    expect(readBudget(new Headers())).toBeUndefined();
  });

  it.each(['abc', '-5', '1.5', '1e3', '0x10', '', '12 34', '+7', '9999999999999', 'Infinity'])(
    'ignores the malformed value %j',
    (value) => {
      expect(readBudget({ 'x-bulwark-timeout-ms': value })).toBeUndefined();
    },
  );

  it('ignores a repeated header, whose copies could disagree', () => {
    expect(readBudget({ 'x-bulwark-timeout-ms': ['100', '90000'] })).toBeUndefined();
  });

  it('caps an absurdly large budget instead of believing it', () => {
    expect(readBudget({ 'x-bulwark-timeout-ms': '86400000' })).toBe(300_000);
    expect(readBudget({ 'x-bulwark-timeout-ms': '86400000' }, { maxMs: 10_000 })).toBe(10_000);
  });

  it('falls back to grpc-timeout and Envoy, and takes the tightest budget', () => {
    expect(readBudget({ 'grpc-timeout': '2S' })).toBe(2000);
    expect(readBudget({ 'x-envoy-expected-rq-timeout-ms': '750' })).toBe(750);
    expect(
      readBudget({
        'x-bulwark-timeout-ms': '900',
        'grpc-timeout': '400m',
        'x-envoy-expected-rq-timeout-ms': '600',
      }),
    ).toBe(400);
    expect(readBudget({ 'grpc-timeout': '2S' }, { fallbacks: false })).toBeUndefined();
  });

  it('rejects a bad maxMs option with a clear message', () => {
    expect(() => readBudget({}, { maxMs: -1 })).toThrow(
      new RangeError('expected maxMs to be an integer >= 1, got -1'),
    );
  });
});

describe('grpc-timeout', () => {
  it.each([
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3_000],
    ['45m', 45],
    ['5000u', 5],
    ['7000000n', 7],
    ['99999999m', 99_999_999],
  ])('parses %s as %d ms', (value, ms) => {
    expect(parseGrpcTimeout(value)).toBe(ms);
  });

  it.each(['100', '123456789m', '-1S', '1.5S', '1s', 'S', '1 S', '1Sx'])('rejects %j', (value) => {
    expect(parseGrpcTimeout(value)).toBeUndefined();
  });

  it('formats milliseconds in at most 8 digits', () => {
    expect(formatGrpcTimeout(1234.2)).toBe('1235m');
    expect(formatGrpcTimeout(-3)).toBe('0m');
    expect(formatGrpcTimeout(200_000_000)).toBe('200000S');
    expect(parseGrpcTimeout(formatGrpcTimeout(4_000))).toBe(4_000);
  });

  it('parseMillis accepts digits only', () => {
    expect(parseMillis('007')).toBe(7);
    expect(parseMillis('7ms')).toBeUndefined();
  });
});

describe('writeBudget()', () => {
  it('writes the remaining budget of a context, rounded down', async () => {
    const clock = new FakeClock();
    const headers: Record<string, string> = {};
    await timeout(1_000, { clock }).execute(async (ctx) => {
      await clock.advance(0.4);
      writeBudget(headers, ctx, { grpc: true });
    });
    expect(headers).toEqual({ 'x-bulwark-timeout-ms': '999', 'grpc-timeout': '999m' });
  });

  it('writes nothing when there is no deadline', async () => {
    const headers = new Headers();
    // A pipeline with no time limit: the context carries no deadline.
    const written = await pipeline().execute((ctx) => writeBudget(headers, ctx));
    expect(written).toBeUndefined();
    expect([...headers.keys()]).toEqual([]);
  });

  it('writes into a Headers object under a configurable name', () => {
    const headers = new Headers();
    expect(writeBudget(headers, 1234.9, { header: 'X-Timeout-Ms' })).toBe(1234);
    expect(headers.get('x-timeout-ms')).toBe('1234');
  });

  it('round-trips through readBudget', () => {
    const headers: Record<string, string> = {};
    writeBudget(headers, 4321);
    expect(readBudget(headers)).toBe(4321);
  });
});
