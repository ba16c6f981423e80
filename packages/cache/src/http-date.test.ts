import { describe, expect, it } from 'vitest';
import { formatHttpDate, parseHttpDate } from './http-date.js';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);
const NOW_2026 = Date.UTC(2026, 0, 1);

describe('parseHttpDate', () => {
  it('reads an IMF-fixdate', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(NOV_6_1994);
  });

  it('reads the obsolete RFC 850 form', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW_2026)).toBe(NOV_6_1994);
  });

  it('reads a two-digit year more than 50 years ahead as the past century (RFC 9110 §5.6.7)', () => {
    expect(parseHttpDate('Thursday, 01-Jan-30 00:00:00 GMT', NOW_2026)).toBe(Date.UTC(2030, 0, 1));
    expect(parseHttpDate('Friday, 01-Jan-77 00:00:00 GMT', NOW_2026)).toBe(Date.UTC(1977, 0, 1));
  });

  it('reads the obsolete asctime form, with a space-padded day', () => {
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(NOV_6_1994);
    expect(parseHttpDate('Sun Nov 16 08:49:37 1994')).toBe(Date.UTC(1994, 10, 16, 8, 49, 37));
  });

  it('ignores case and surrounding whitespace', () => {
    expect(parseHttpDate('  sun, 06 NOV 1994 08:49:37 gmt ')).toBe(NOV_6_1994);
  });

  it('rejects "0", garbage and numbers', () => {
    for (const value of ['0', '-1', 'tomorrow', '1700000000', '', 'Sun, 06 Nov 1994']) {
      expect(parseHttpDate(value), value).toBeUndefined();
    }
  });

  it('rejects impossible dates and times instead of rolling them over', () => {
    expect(parseHttpDate('Mon, 31 Feb 2025 00:00:00 GMT')).toBeUndefined();
    expect(parseHttpDate('Mon, 00 Jan 2025 00:00:00 GMT')).toBeUndefined();
    expect(parseHttpDate('Mon, 01 Jan 2025 24:00:00 GMT')).toBeUndefined();
    expect(parseHttpDate('Mon, 01 Jan 2025 12:60:00 GMT')).toBeUndefined();
  });

  it('accepts 29 February in leap years only', () => {
    expect(parseHttpDate('Thu, 29 Feb 2024 00:00:00 GMT')).toBe(Date.UTC(2024, 1, 29));
    expect(parseHttpDate('Wed, 29 Feb 2023 00:00:00 GMT')).toBeUndefined();
    expect(parseHttpDate('Tue, 29 Feb 2000 00:00:00 GMT')).toBe(Date.UTC(2000, 1, 29));
    expect(parseHttpDate('Mon, 29 Feb 1900 00:00:00 GMT')).toBeUndefined();
    expect(parseHttpDate('Mon, 31 Apr 2024 00:00:00 GMT')).toBeUndefined();
  });

  it('gives the same answer for a value seen before, valid or not', () => {
    const value = 'Sun, 06 Nov 1994 08:49:37 GMT';
    expect(parseHttpDate(value)).toBe(parseHttpDate(value));
    expect(parseHttpDate('garbage date value here!')).toBeUndefined();
    expect(parseHttpDate('garbage date value here!')).toBeUndefined();
  });

  it('reads an RFC 850 date against the given time each time, not a remembered century', () => {
    const value = 'Thursday, 01-Jan-30 00:00:00 GMT';
    expect(parseHttpDate(value, Date.UTC(2026, 0, 1))).toBe(Date.UTC(2030, 0, 1));
    expect(parseHttpDate(value, Date.UTC(2090, 0, 1))).toBe(Date.UTC(2130, 0, 1));
  });

  it('rejects a time zone other than GMT', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 PST')).toBeUndefined();
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 +0000')).toBeUndefined();
  });

  it('reads a leap second as the last second of its minute', () => {
    expect(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT')).toBe(Date.UTC(2016, 11, 31, 23, 59, 59));
  });

  it('returns undefined for an absent value', () => {
    expect(parseHttpDate(undefined)).toBeUndefined();
  });
});

describe('formatHttpDate', () => {
  it('writes an IMF-fixdate that parses back', () => {
    expect(formatHttpDate(NOV_6_1994)).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(parseHttpDate(formatHttpDate(NOW_2026))).toBe(NOW_2026);
  });
});
