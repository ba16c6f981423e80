import { isCancelledError, isDeadlineExceededError } from '@bulwark/core';
import { checkFunction, checkKnownOptions, checkObject, optionNames } from '@bulwark/core/internal';

export interface ErrorClassifyArgs {
  /** What the call threw. */
  readonly error: unknown;
  /**
   * True when the call's signal had aborted for a reason other than a timeout: the caller
   * cancelled it or its deadline ran out. The failure then says nothing about the downstream,
   * whatever it threw (fetch reports a caller's abort as its own `AbortError`).
   */
  readonly callerAborted: boolean;
}

export interface ResultClassifyArgs {
  /** What the call returned. */
  readonly result: unknown;
}

/** Which outcomes count as failures of the downstream. Predicates must not throw. */
export interface BreakerClassify {
  /**
   * True when a thrown error counts as a failure. An error that does not count is ignored:
   * it neither fails nor succeeds, and frees a half-open trial slot. Default: every error
   * except a caller's cancellation and an exceeded deadline (see {@link countsByDefault}).
   */
  error?: (args: ErrorClassifyArgs) => boolean;
  /** True when a returned value counts as a failure (an HTTP 5xx, say). Default: none do. */
  result?: (args: ResultClassifyArgs) => boolean;
}

/**
 * The default: every error counts except a `CancelledError`, a `DeadlineExceededError` and
 * anything thrown after the caller aborted. Cancelling is the caller's choice, and a deadline
 * is the caller's budget: it may have had a few milliseconds left when the call began, and
 * counting it would let callers with tight deadlines open the breaker for everyone. A slow
 * downstream still opens the breaker through an attempt timeout inside it (`TimeoutError`
 * counts) or a slow-call rule.
 */
export function countsByDefault({ error, callerAborted }: ErrorClassifyArgs): boolean {
  return !callerAborted && !isCancelledError(error) && !isDeadlineExceededError(error);
}

export interface Classifiers {
  readonly error: (args: ErrorClassifyArgs) => boolean;
  readonly result: ((args: ResultClassifyArgs) => boolean) | undefined;
}

const OPTION_NAMES = optionNames<BreakerClassify>({ error: true, result: true });

/** Checks `classify` as `factory` (whose option it is, for messages) was given it. */
export function parseClassify(classify: BreakerClassify | undefined, factory: string): Classifiers {
  if (classify === undefined) return { error: countsByDefault, result: undefined };
  checkObject('classify', classify);
  checkKnownOptions(factory, classify, OPTION_NAMES, 'classify');
  if (classify.error !== undefined) checkFunction('classify.error', classify.error);
  if (classify.result !== undefined) checkFunction('classify.result', classify.result);
  return { error: classify.error ?? countsByDefault, result: classify.result };
}
