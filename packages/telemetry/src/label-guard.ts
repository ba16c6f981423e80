/** Where label values beyond a guard's limit are counted. */
export const OTHER_LABEL_VALUE = 'other';

/** Longer label values are folded too: a value that long is an ID or a URL, not a name. */
export const MAX_LABEL_VALUE_LENGTH = 128;

/**
 * Caps the distinct values one label may take. Every series costs memory in this process and
 * in Prometheus, and a label fed from data (an operation named after a URL path, one breaker
 * per tenant) would grow without end; past the limit, new values are counted as "other".
 */
export class LabelGuard {
  private readonly admitted = new Set<string>();

  constructor(private readonly maxValues: number) {}

  /** The label value to record `value` under. */
  admit(value: string): string {
    if (this.admitted.has(value)) return value;
    if (value.length > MAX_LABEL_VALUE_LENGTH || this.admitted.size >= this.maxValues) {
      return OTHER_LABEL_VALUE;
    }
    this.admitted.add(value);
    return value;
  }
}
