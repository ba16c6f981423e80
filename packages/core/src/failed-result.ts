/**
 * Results a policy hands back as a call's value although it counted them as failures: a retry
 * that gave up on a 503 response returns that response. Whoever reports the call's outcome (a
 * pipeline's `call` event) reports such a value as a failure, as the operation's span does, so
 * an error-rate alert sees the calls its dependency failed.
 *
 * Only failures enter the set, and the set is consulted only once something entered it: a
 * process that never gives up on a result pays one flag check per reported call.
 */
const failedResults = new WeakSet<object>();
let anyMarked = false;

/** Marks `result`, returned as a call's value, as a failure (primitives cannot be marked). */
export function markFailedResult(result: unknown): void {
  if (typeof result === 'object' && result !== null) {
    failedResults.add(result);
    anyMarked = true;
  }
}

/** True for a value a policy returned although it counted it as a failure. */
export function isFailedResult(value: unknown): boolean {
  return anyMarked && typeof value === 'object' && value !== null && failedResults.has(value);
}
