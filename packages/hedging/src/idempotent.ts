import { checkFunction } from '@bulwark/core/internal';

/**
 * The mark on a function that is safe to run more than once at a time. A registered symbol, so a
 * mark made by one installed copy of Bulwark (an HTTP client's, say) is read by another.
 */
const IDEMPOTENT = Symbol.for('bulwark.idempotent');

/**
 * Marks `fn` as safe to repeat (an idempotent call: a GET, a PUT, a request carrying an
 * Idempotency-Key) and returns it, so a hedger built with `idempotent: 'marked'` may run it more
 * than once at a time. The mark is a property of the function itself: mark the function you pass
 * to `execute()`, once per call or once for a function you reuse.
 *
 * @example
 * await hedger.execute(idempotent(({ signal }) => fetch(url, { signal })));
 */
export function idempotent<F extends (...args: never[]) => unknown>(fn: F): F {
  checkFunction('fn', fn);
  if ((fn as unknown as Record<symbol, unknown>)[IDEMPOTENT] !== true) {
    if (!Object.isExtensible(fn)) {
      throw new TypeError(
        'expected fn to be a function that can be marked, got a frozen or sealed function: wrap it in an arrow function first',
      );
    }
    Object.defineProperty(fn, IDEMPOTENT, { value: true });
  }
  return fn;
}

/** True when `fn` was marked with {@link idempotent}. */
export function isIdempotent(fn: unknown): boolean {
  return (
    typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[IDEMPOTENT] === true
  );
}
