/**
 * HTTP dates (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime forms that
 * recipients must still accept. Anything else is invalid: callers decide what invalid means
 * (for Expires, "already expired", RFC 9111 §5.3).
 */

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// Recipients are encouraged to be lenient (RFC 9110 §5.6.7): case is ignored, the weekday unchecked.
const IMF_FIXDATE = new RegExp(
  `^(?:mon|tue|wed|thu|fri|sat|sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} gmt$`,
  'i',
);
const RFC850 = new RegExp(
  `^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} gmt$`,
  'i',
);
const ASCTIME = new RegExp(
  `^(?:mon|tue|wed|thu|fri|sat|sun) ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`,
  'i',
);

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  if (month !== 1) return DAYS_IN_MONTH[month]!;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return leap ? 29 : 28;
}

/** How many parsed dates are remembered: responses in one burst mostly share their Date. */
const MEMO_SIZE = 256;
const memo = new Map<string, number | null>();

function build(
  year: number,
  month: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const m = MONTHS[month.toLowerCase()]!;
  const d = Number(day);
  const h = Number(hour);
  const min = Number(minute);
  // 60 is a leap second: accepted, and read as the last second of the minute.
  const s = Math.min(Number(second), 59);
  // Date.UTC would roll 31 Feb over into March: reject instead.
  if (h > 23 || min > 59 || Number(second) > 60 || d < 1 || d > daysIn(year, m)) return undefined;
  return Date.UTC(year, m, d, h, min, s);
}

/**
 * Milliseconds since the epoch, or `undefined` for anything that is not an HTTP date.
 * `now` resolves RFC 850's two-digit years: one more than 50 years ahead is taken as the past.
 */
export function parseHttpDate(value: string | undefined, now?: number): number | undefined {
  if (value === undefined) return undefined;
  const known = memo.get(value);
  if (known !== undefined) return known ?? undefined;
  const parsed = parse(value, now);
  // An RFC 850 date depends on `now` (its century): only the other forms are remembered.
  if (parsed === undefined || !value.includes('-')) {
    if (memo.size >= MEMO_SIZE) memo.clear();
    memo.set(value, parsed ?? null);
  }
  return parsed;
}

function parse(value: string, now: number | undefined): number | undefined {
  const text = value.trim();
  if (text.length < 24 || text.length > 40) return undefined;
  let match = IMF_FIXDATE.exec(text);
  if (match !== null) {
    return build(Number(match[3]), match[2]!, match[1]!, match[4]!, match[5]!, match[6]!);
  }
  match = RFC850.exec(text);
  if (match !== null) {
    const currentYear = new Date(now ?? Date.now()).getUTCFullYear();
    let year = Math.floor(currentYear / 100) * 100 + Number(match[3]);
    if (year > currentYear + 50) year -= 100;
    else if (year <= currentYear - 50) year += 100;
    return build(year, match[2]!, match[1]!, match[4]!, match[5]!, match[6]!);
  }
  match = ASCTIME.exec(text);
  if (match !== null) {
    return build(Number(match[6]), match[1]!, match[2]!.trim(), match[3]!, match[4]!, match[5]!);
  }
  return undefined;
}

/** An IMF-fixdate, the only form a sender may generate. */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
