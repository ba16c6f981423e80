import { CancelledError, isBulwarkError } from './errors.js';

/**
 * A cancellation scope: the part of an execution that one timeout, deadline or caller signal
 * governs. Creating an `AbortSignal` costs microseconds in Node, far more than everything else
 * a policy does per call, so a scope creates its signal only when someone reads it. Until then
 * "aborted" is a flag that inner layers poll.
 */

// Shared by every call that has no caller signal and no timeout: it never aborts.
const neverController = new AbortController();

export class Scope {
  /** The scope of calls made without a caller signal: never aborts, costs nothing. */
  static readonly never = new Scope(undefined, undefined);

  private ownAborted = false;
  private ownReason: unknown = undefined;
  private controller: AbortController | undefined = undefined;
  private parentSignal: AbortSignal | undefined = undefined;

  private constructor(
    readonly parent: Scope | undefined,
    private readonly external: AbortSignal | undefined,
  ) {}

  /** The root scope of a call, following the caller's signal if one was given. */
  static from(signal: AbortSignal | undefined): Scope {
    return signal === undefined ? Scope.never : new Scope(undefined, signal);
  }

  /** A scope that aborts when this one does, and can also be aborted on its own. */
  child(): Scope {
    return new Scope(this, undefined);
  }

  /** False only for {@link Scope.never}: such a scope needs no listeners. */
  get canAbort(): boolean {
    return this !== Scope.never;
  }

  get aborted(): boolean {
    if (this.ownAborted) return true;
    if (this.external !== undefined) return this.external.aborted;
    return this.parent !== undefined && this.parent.aborted;
  }

  /** Why the scope aborted: its own reason, else its caller's or parent's. */
  get reason(): unknown {
    if (this.ownAborted) return this.ownReason;
    if (this.external !== undefined) return this.external.reason;
    return this.parent?.reason;
  }

  /**
   * The error to fail with once the scope has aborted: the Bulwark error that aborted it (a
   * timeout or deadline), else a {@link CancelledError} carrying the caller's abort reason.
   */
  abortError(): Error {
    const reason = this.reason;
    return isBulwarkError(reason) ? reason : new CancelledError(undefined, reason);
  }

  /** The scope as an `AbortSignal`, created on first read. */
  get signal(): AbortSignal {
    if (this.external !== undefined) return this.external;
    if (this === Scope.never) return neverController.signal;
    return this.controller?.signal ?? this.materialize();
  }

  private materialize(): AbortSignal {
    const controller = new AbortController();
    this.controller = controller;
    if (this.ownAborted) {
      controller.abort(this.ownReason);
    } else if (this.parent !== undefined && this.parent.canAbort) {
      const parentSignal = this.parent.signal;
      if (parentSignal.aborted) {
        controller.abort(parentSignal.reason);
      } else {
        this.parentSignal = parentSignal;
        // The scope itself is the listener (handleEvent), so linking allocates no closure.
        parentSignal.addEventListener('abort', this);
      }
    }
    return controller.signal;
  }

  /** @internal The parent signal's abort listener. */
  handleEvent(): void {
    this.controller?.abort(this.parentSignal?.reason);
    this.dispose();
  }

  /** Aborts this scope (and every child) with the given reason. A second call does nothing. */
  abort(reason: unknown): void {
    if (this.ownAborted) return;
    this.ownAborted = true;
    this.ownReason = reason;
    this.controller?.abort(reason);
    this.dispose();
  }

  /**
   * Calls `callback` once when the scope aborts. Returns a function that unsubscribes;
   * subscribers must call it when they no longer care, so no listener outlives its call.
   */
  onAbort(callback: () => void): () => void {
    if (this === Scope.never) return noop;
    const signal = this.signal;
    signal.addEventListener('abort', callback, { once: true });
    return () => signal.removeEventListener('abort', callback);
  }

  /** Detaches from the parent's signal. Call when the scope's work has ended. */
  dispose(): void {
    if (this.parentSignal !== undefined) {
      this.parentSignal.removeEventListener('abort', this);
      this.parentSignal = undefined;
    }
  }
}

function noop(): void {}
