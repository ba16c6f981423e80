import type { Clock } from '@bulwark/core';
import { type Scope, unrefTimer } from '@bulwark/core/internal';

/**
 * Waits `ms` on `clock`, or rejects with the scope's abort error the moment the scope aborts:
 * the timer is cleared and the abort listener removed either way, so nothing outlives the wait.
 *
 * The timer is referenced unless `unref` is set: while a call waits for its next attempt, that
 * wait is often the only thing pending, and an unreferenced timer would let a script exit in
 * the middle of its retries (cockatiel calls the opposite `dangerouslyUnref`).
 */
export function sleep(clock: Clock, scope: Scope, ms: number, unref: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (scope.aborted) {
      reject(scope.abortError());
      return;
    }
    // Neither callback can run before both handles below exist: a timer never fires, and an
    // abort listener is never called, synchronously.
    const wake = (): void => {
      unsubscribe();
      resolve();
    };
    const cancel = (): void => {
      clock.clearTimeout(handle);
      unsubscribe();
      reject(scope.abortError());
    };
    const handle = unref ? unrefTimer(clock, wake, ms) : clock.setTimeout(wake, ms);
    const unsubscribe = scope.onAbort(cancel);
  });
}
