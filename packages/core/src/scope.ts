import { CancelledError, isBulwarkError } from './errors.js';

/**
 * A cancellation scope: the part of an execution that one timeout, deadline or caller signal
 * governs. Creating an `AbortSignal` costs far more than everything else a policy does per call
 * (docs/architecture.md, Decision 1), so a scope creates its signal only when someone reads it.
 * Until then "aborted" is a flag that inner layers poll. A scope tells what waits on it (child
 * scopes, `onAbort` subscribers) itself when it aborts, without an `AbortSignal` of its own: so
 * a signal read inside nested time limits costs one controller, not one per enclosing scope.
 */

// Shared by every call that has no caller signal and no timeout: it never aborts.
const NOT_ABORTED: unique symbol = Symbol('not aborted');
const neverController = new AbortController();

/** Something told when a signal aborts: a child scope, or an `onAbort` subscription. */
abstract class Dependent {
  prevLinked: Dependent | undefined = undefined;
  nextLinked: Dependent | undefined = undefined;
  /** The list this is linked into, while it is. */
  linkedInto: Dependents | undefined = undefined;
  abstract signalAborted(reason: unknown): void;
}

/**
 * Everything waiting on one scope or one caller's signal. A caller's signal is listened to once,
 * for the whole list: Node's EventTarget walks its listener list on every add and remove, so N
 * children listening to one long-lived signal (a shutdown signal shared by every call) cost O(N)
 * each; here linking and unlinking are O(1). A scope's own list is told by the scope's abort().
 */
class Dependents {
  private head: Dependent | undefined = undefined;
  private tail: Dependent | undefined = undefined;

  /** `signal`: the caller's signal the list listens to; undefined for a scope's own list. */
  constructor(private readonly signal: AbortSignal | undefined) {}

  add(dependent: Dependent): void {
    dependent.linkedInto = this;
    dependent.prevLinked = this.tail;
    dependent.nextLinked = undefined;
    if (this.tail === undefined) {
      this.head = dependent;
      // The list is the listener (handleEvent), so linking allocates no closure.
      this.signal?.addEventListener('abort', this);
    } else {
      this.tail.nextLinked = dependent;
    }
    this.tail = dependent;
  }

  remove(dependent: Dependent): void {
    if (dependent.linkedInto !== this) return;
    dependent.linkedInto = undefined;
    const { prevLinked: prev, nextLinked: next } = dependent;
    if (prev === undefined) this.head = next;
    else prev.nextLinked = next;
    if (next === undefined) this.tail = prev;
    else next.prevLinked = prev;
    dependent.prevLinked = undefined;
    dependent.nextLinked = undefined;
    // No listener outlives the last dependent, so an idle long-lived signal holds nothing.
    if (this.head === undefined) this.signal?.removeEventListener('abort', this);
  }

  /** The caller's signal's abort listener. */
  handleEvent(): void {
    this.notify(this.signal!.reason);
  }

  /** Tells every dependent once, in the order they came. */
  notify(reason: unknown): void {
    // Unlink before telling, so a dependent that disposes others mid-way finds a sound list.
    for (let dependent = this.head; dependent !== undefined; dependent = this.head) {
      this.remove(dependent);
      try {
        dependent.signalAborted(reason);
      } catch (error: unknown) {
        // As EventTarget does: report the error without starving the remaining dependents.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

// Caller signals are shared by many calls, each with its own root scope: key the list by signal.
const dependentsBySignal = new WeakMap<AbortSignal, Dependents>();

function dependentsOf(signal: AbortSignal): Dependents {
  let dependents = dependentsBySignal.get(signal);
  if (dependents === undefined) {
    dependents = new Dependents(signal);
    dependentsBySignal.set(signal, dependents);
  }
  return dependents;
}

class Subscription extends Dependent {
  constructor(private readonly callback: () => void) {
    super();
  }
  signalAborted(): void {
    this.callback();
  }
  readonly unsubscribe = (): void => {
    this.linkedInto?.remove(this);
  };
}

export class Scope extends Dependent {
  /** The scope of calls made without a caller signal: never aborts, costs nothing. */
  static readonly never = new Scope(undefined, undefined);

  /**
   * Set by an aggressive time limit on the scope it runs its call in: when this scope
   * aborts, that limit releases its caller itself, so inner aggressive limits need not listen.
   */
  releasesCaller = false;
  /** Why this scope aborted on its own, or NOT_ABORTED: one field, not a flag and a reason. */
  private ownReason: unknown = NOT_ABORTED;
  private controller: AbortController | undefined = undefined;
  private ownDependents: Dependents | undefined = undefined;

  protected constructor(
    readonly parent: Scope | undefined,
    private readonly external: AbortSignal | undefined,
  ) {
    super();
  }

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
    if (this.ownReason !== NOT_ABORTED) return true;
    if (this.external !== undefined) return this.external.aborted;
    return this.parent !== undefined && this.parent.aborted;
  }

  /** Why the scope aborted: its own reason, else its caller's or parent's. */
  get reason(): unknown {
    if (this.ownReason !== NOT_ABORTED) return this.ownReason;
    if (this.external !== undefined) return this.external.reason as unknown;
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
    if (this.aborted) controller.abort(this.reason);
    else this.listenToParent();
    this.controller = controller;
    return controller.signal;
  }

  /**
   * Links this scope into its parent's list once, when it first has something to tell (its
   * signal, or a dependent of its own): the parent's abort then reaches it directly, however
   * far up it starts, and no enclosing scope needs a signal for that.
   */
  private listenToParent(): void {
    if (this.controller !== undefined || this.ownDependents !== undefined) return;
    if (this.parent !== undefined && this.parent.canAbort) this.parent.dependentsList().add(this);
  }

  /** The list of what waits on this scope, which must not have aborted yet. */
  private dependentsList(): Dependents {
    if (this.external !== undefined) return dependentsOf(this.external);
    if (this.ownDependents === undefined) {
      this.listenToParent();
      this.ownDependents = new Dependents(undefined);
    }
    return this.ownDependents;
  }

  /** The parent aborted: so has this scope, and so has everything waiting on it. */
  signalAborted(reason: unknown): void {
    this.controller?.abort(reason);
    this.ownDependents?.notify(reason);
  }

  /**
   * Aborts this scope (and every child) with the given reason. The first abort wins: once the
   * scope has aborted, on its own or through its parent, further calls do nothing, so
   * {@link Scope.reason} always agrees with `signal.reason`. Abort only scopes made with
   * {@link Scope.child}: {@link Scope.never} is shared by every call and ignores it.
   */
  abort(reason: unknown): void {
    if (this === Scope.never || this.aborted) {
      this.dispose();
      return;
    }
    this.ownReason = reason;
    this.controller?.abort(reason);
    this.ownDependents?.notify(reason);
    this.dispose();
  }

  /**
   * Calls `callback` once when the scope aborts. Returns a function that unsubscribes;
   * subscribers must call it when they no longer care, so no listener outlives its call.
   * A scope that has already aborted never calls it: check {@link Scope.aborted} first.
   */
  onAbort(callback: () => void): () => void {
    if (this === Scope.never || this.aborted) return noop;
    const subscription = new Subscription(callback);
    this.dependentsList().add(subscription);
    return subscription.unsubscribe;
  }

  /** Detaches from the parent's signal. Call when the scope's work has ended. */
  dispose(): void {
    const parent = this.parent;
    // Still linked to a parent that has aborted: its abort is going round the parent's
    // dependents, and one told earlier (a time limit releasing its caller) ended this scope's
    // work before the abort reached it. It has aborted all the same, through its parent, so its
    // signal says so before it stops listening: a function holding it must hear of the abort.
    if (this.linkedInto !== undefined && parent !== undefined && parent.aborted) {
      this.signalAborted(parent.reason);
    }
    this.linkedInto?.remove(this);
  }
}

function noop(): void {}
