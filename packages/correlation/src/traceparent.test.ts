import { describe, expect, it } from 'vitest';
import {
  RANDOM_FLAG,
  SAMPLED_FLAG,
  formatTraceparent,
  generateSpanId,
  generateTraceId,
  parseTraceparent,
} from './traceparent.js';

// Vectors from W3C Trace Context (the spec's examples and its test suite, test/test.py).
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it('parses the spec example of a sampled request', () => {
    expect(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-01`)).toEqual({
      traceId: TRACE_ID,
      parentId: PARENT_ID,
      flags: 1,
    });
  });

  it('parses the spec example of a request the caller did not sample', () => {
    expect(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-00`)?.flags).toBe(0);
  });

  it('keeps every flag bit it parsed (interpreting them is the caller’s business)', () => {
    expect(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-09`)?.flags).toBe(9);
  });

  it('ignores surrounding spaces and tabs (optional whitespace)', () => {
    for (const value of [
      ` 00-12345678901234567890123456789012-1234567890123456-01`,
      `\t00-12345678901234567890123456789012-1234567890123456-01`,
      `00-12345678901234567890123456789012-1234567890123456-01 `,
      `\t 00-12345678901234567890123456789012-1234567890123456-01 \t`,
    ]) {
      expect(parseTraceparent(value)?.traceId).toBe('12345678901234567890123456789012');
    }
  });

  it('parses a higher version for its version-00 fields, with or without more fields', () => {
    expect(parseTraceparent('cc-12345678901234567890123456789012-1234567890123456-01')).toEqual({
      traceId: '12345678901234567890123456789012',
      parentId: '1234567890123456',
      flags: 1,
    });
    expect(
      parseTraceparent(
        'cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like',
      )?.traceId,
    ).toBe('12345678901234567890123456789012');
  });

  it.each([
    ['version ff', 'ff-12345678901234567890123456789012-1234567890123456-01'],
    [
      'version 00 with a trailing character',
      '00-12345678901234567890123456789012-1234567890123456-01.',
    ],
    [
      'version 00 with trailing fields',
      '00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like',
    ],
    [
      'a higher version whose flags are not followed by a dash',
      'cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like',
    ],
    [
      'an illegal character in the version',
      '.0-12345678901234567890123456789012-1234567890123456-01',
    ],
    [
      'an illegal trailing character in the version',
      '0.-12345678901234567890123456789012-1234567890123456-01',
    ],
    ['a 3-digit version', '000-12345678901234567890123456789012-1234567890123456-01'],
    ['a 4-digit version', '0000-12345678901234567890123456789012-1234567890123456-01'],
    ['a 1-digit version', '0-12345678901234567890123456789012-1234567890123456-01'],
    ['an all-zero trace-id', '00-00000000000000000000000000000000-1234567890123456-01'],
    [
      'an illegal first character in trace-id',
      '00-.2345678901234567890123456789012-1234567890123456-01',
    ],
    [
      'an illegal last character in trace-id',
      '00-1234567890123456789012345678901.-1234567890123456-01',
    ],
    ['a 33-digit trace-id', '00-123456789012345678901234567890123-1234567890123456-01'],
    ['a 31-digit trace-id', '00-1234567890123456789012345678901-1234567890123456-01'],
    ['an all-zero parent-id', '00-12345678901234567890123456789012-0000000000000000-01'],
    [
      'an illegal first character in parent-id',
      '00-12345678901234567890123456789012-.234567890123456-01',
    ],
    [
      'an illegal last character in parent-id',
      '00-12345678901234567890123456789012-123456789012345.-01',
    ],
    ['a 17-digit parent-id', '00-12345678901234567890123456789012-12345678901234567-01'],
    ['a 15-digit parent-id', '00-12345678901234567890123456789012-123456789012345-01'],
    [
      'an illegal first character in the flags',
      '00-12345678901234567890123456789012-1234567890123456-.0',
    ],
    [
      'an illegal last character in the flags',
      '00-12345678901234567890123456789012-1234567890123456-0.',
    ],
    ['3-digit flags', '00-12345678901234567890123456789012-1234567890123456-001'],
    ['1-digit flags', '00-12345678901234567890123456789012-1234567890123456-1'],
    ['upper-case hex in the trace-id', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['upper-case hex in the parent-id', '00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01'],
    ['upper-case hex in the version', 'CC-12345678901234567890123456789012-1234567890123456-01'],
    ['underscores instead of dashes', '00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01'],
    ['two joined headers', `00-${TRACE_ID}-${PARENT_ID}-01, 00-${TRACE_ID}-${PARENT_ID}-01`],
    ['an empty value', ''],
    ['a 10 KB value', `00-${TRACE_ID}-${PARENT_ID}-01`.padEnd(10240, 'x')],
    ['a newline inside', `00-${TRACE_ID}-${PARENT_ID}\n-01`],
  ])('refuses %s', (_label, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});

describe('formatTraceparent', () => {
  it('writes version 00 with the sampled flag', () => {
    expect(formatTraceparent(TRACE_ID, PARENT_ID, SAMPLED_FLAG)).toBe(
      `00-${TRACE_ID}-${PARENT_ID}-01`,
    );
    expect(formatTraceparent(TRACE_ID, PARENT_ID, 0)).toBe(`00-${TRACE_ID}-${PARENT_ID}-00`);
  });

  it('keeps the random flag of Trace Context Level 2, with or without sampled', () => {
    expect(formatTraceparent(TRACE_ID, PARENT_ID, RANDOM_FLAG)).toBe(
      `00-${TRACE_ID}-${PARENT_ID}-02`,
    );
    expect(formatTraceparent(TRACE_ID, PARENT_ID, SAMPLED_FLAG | RANDOM_FLAG)).toBe(
      `00-${TRACE_ID}-${PARENT_ID}-03`,
    );
  });

  it('sends flag bits the spec does not define as zero', () => {
    expect(formatTraceparent(TRACE_ID, PARENT_ID, 0xff)).toBe(`00-${TRACE_ID}-${PARENT_ID}-03`);
    expect(formatTraceparent(TRACE_ID, PARENT_ID, 0xfc)).toBe(`00-${TRACE_ID}-${PARENT_ID}-00`);
  });

  it('round-trips through parseTraceparent', () => {
    const value = formatTraceparent(generateTraceId(), generateSpanId(), 1);
    const parsed = parseTraceparent(value)!;
    expect(formatTraceparent(parsed.traceId, parsed.parentId, parsed.flags)).toBe(value);
  });
});

describe('generateTraceId and generateSpanId', () => {
  it('make lowercase hex of 32 and 16 digits, different every time', () => {
    const traces = new Set<string>();
    const spans = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const traceId = generateTraceId();
      const spanId = generateSpanId();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      traces.add(traceId);
      spans.add(spanId);
    }
    expect(traces.size).toBe(2000);
    expect(spans.size).toBe(2000);
  });
});
