/** How numbers read on the page: short, with no more digits than the measurement holds. */

export const NONE = '–';

/** Per second: two digits under 10, none above. */
export function perSecond(value: number): string {
  if (!Number.isFinite(value)) return NONE;
  if (value === 0) return '0';
  return value < 10 ? value.toFixed(1) : value.toFixed(0);
}

/** A ratio (0–1) as a percentage with one decimal. */
export function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : NONE;
}

/** Milliseconds, with two significant digits below 10. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return NONE;
  if (value < 1) return value.toFixed(2);
  return value < 10 ? value.toFixed(1) : value.toFixed(0);
}

/** A duration for a person: "850 ms", "12 s", "4 min". */
export function duration(milliseconds: number): string {
  if (!Number.isFinite(milliseconds)) return NONE;
  if (milliseconds < 1_000) return `${Math.max(0, Math.round(milliseconds))} ms`;
  if (milliseconds < 120_000) return `${Math.round(milliseconds / 1_000)} s`;
  if (milliseconds < 7_200_000) return `${Math.round(milliseconds / 60_000)} min`;
  return `${Math.round(milliseconds / 3_600_000)} h`;
}

/** A count since the process started. */
export function count(value: number): string {
  return String(Math.round(value));
}

/** Chart values keep three significant digits: the page's history is sent whole on connect. */
export function point(value: number): number | null {
  return Number.isFinite(value) ? Number(value.toPrecision(3)) : null;
}
