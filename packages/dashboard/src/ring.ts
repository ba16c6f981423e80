/**
 * A fixed number of the latest values of one series, oldest overwritten first: the page's
 * history costs the same memory after a minute as after a month.
 */
export class Ring {
  private readonly values: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(readonly capacity: number) {
    this.values = new Float64Array(capacity);
  }

  push(value: number): void {
    this.values[this.next] = value;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    if (this.filled < this.capacity) this.filled++;
  }

  get length(): number {
    return this.filled;
  }

  /** The latest value, or NaN before the first. */
  get last(): number {
    if (this.filled === 0) return NaN;
    return this.values[this.next === 0 ? this.capacity - 1 : this.next - 1]!;
  }

  /** The sum of the latest `count` values (fewer when fewer were pushed). */
  sumOfLast(count: number): number {
    const n = count < this.filled ? count : this.filled;
    let sum = 0;
    let i = this.next;
    for (let k = 0; k < n; k++) {
      i = i === 0 ? this.capacity - 1 : i - 1;
      sum += this.values[i]!;
    }
    return sum;
  }

  /** The values held, oldest first; NaN (no data) is written as null, as JSON can carry it. */
  toArray(): Array<number | null> {
    const out = new Array<number | null>(this.filled);
    const start = this.filled < this.capacity ? 0 : this.next;
    for (let k = 0; k < this.filled; k++) {
      const v = this.values[(start + k) % this.capacity]!;
      out[k] = Number.isNaN(v) ? null : v;
    }
    return out;
  }
}
