/**
 * The state of one adaptive concurrency-limit algorithm, owned by one bulkhead. The bulkhead
 * feeds it one sample per completed call and admits calls up to the limit it returns.
 */
export interface LimitAlgorithm {
  /** The current limit: an integer within the algorithm's [min, max]. */
  readonly limit: number;
  /**
   * Takes one completed call: how long it ran, how many calls were running when it started
   * (itself included) and whether it failed in a way that signals overload. Returns the new limit.
   */
  update(rttMs: number, inflight: number, dropped: boolean): number;
}

export function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}
