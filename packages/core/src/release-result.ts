function ignore(): void {}

function swallow(value: unknown): void {
  if (typeof value === 'object' && value !== null && 'catch' in value) {
    const catcher = (value as { catch?: unknown }).catch;
    if (typeof catcher === 'function') (catcher as (f: () => void) => unknown).call(value, ignore);
  }
}

/**
 * Releases a result that a policy throws away (a 503 response a retry will not return, a losing
 * hedged attempt's response, a failed result a fallback answers for), so its connection goes back
 * to the pool instead of waiting for the garbage collector: undici keeps a connection busy until
 * the body is read or cancelled. Handles fetch's Response (a web stream `body`) and
 * undici's `request()` result (a `body` with `dump()`). Never throws.
 */
export function releaseResult(result: unknown): void {
  if (typeof result !== 'object' || result === null) return;
  const body = (result as { body?: unknown }).body;
  if (typeof body !== 'object' || body === null) return;
  try {
    if ((result as { bodyUsed?: unknown }).bodyUsed === true) return;
    const { cancel, dump } = body as { cancel?: unknown; dump?: unknown };
    if (typeof cancel === 'function') swallow((cancel as () => unknown).call(body));
    else if (typeof dump === 'function') swallow((dump as () => unknown).call(body));
  } catch {
    // A locked or already-destroyed body has nothing left to release.
  }
}
