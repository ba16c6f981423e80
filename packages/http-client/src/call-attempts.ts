import {
  type ContextFn,
  type ExecutionContext,
  type HttpAttemptInfo,
  isTimeoutError,
} from '@bulwark/core';
import type { CorrelationPropagator, RequestContext } from '@bulwark/correlation';
import {
  type HttpAttemptSource,
  type Scope,
  httpAttemptSource,
  toContext,
} from '@bulwark/core/internal';
import { type RetryClassifier, errorCodeIn, isRetryableNetworkError } from '@bulwark/retry';
import {
  type TimeoutPolicy,
  type WriteBudgetOptions,
  timeout,
  writeBudget,
} from '@bulwark/timeout';
import type { Dispatcher } from 'undici';
import { Attempt, type AttemptOwner, isCutShort } from './attempt.js';
import type { BodySource } from './body.js';
import {
  HttpStatusError,
  RetriesExhaustedError,
  StreamBodyNotReplayableError,
  isNetworkError,
} from './errors.js';
import { copyHeaders } from './headers.js';
import { isIdempotentMethod } from './methods.js';
import type { AttemptHeadersArgs, ClientSettings } from './options.js';
import { type ClientResponse, type HttpResponse, HttpStreamResponse } from './response.js';

/**
 * Transient failures undici reports besides `@bulwark/retry`'s network codes: a body cut short
 * against its Content-Length (after the headers; before them, the code hides a malformed answer,
 * see `NetworkError.malformedResponse`).
 */
export const EXTRA_RETRYABLE_CODES: readonly string[] = Object.freeze([
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
const isExtraRetryable = errorCodeIn(EXTRA_RETRYABLE_CODES);

/**
 * Failures (thrown errors and returned responses) that the retry policy may retry. The
 * call's attempts that saw a failure decide, as only it knows the method, the key, the body and
 * whether the response was committed; the retry policy, shared by every call to an origin,
 * asks here. Only failures enter, so the set stays empty on the fast path.
 */
const markedRetryable = new WeakSet<object>();

function isMarked(value: unknown): boolean {
  return markedRetryable.has(value as object);
}

/** The retry classifier of every HTTP client: retry exactly what a call's attempts marked. */
export const httpRetryClassifier: RetryClassifier = Object.freeze({
  error: isMarked,
  result: isMarked,
});

/**
 * undici's errors for a dispatcher closed or destroyed by this process: not the network's
 * doing, and no retry can get past them.
 */
export const isLocalShutdown = errorCodeIn(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

/**
 * An attempt failure worth another attempt, if the request allows one: an attempt timeout, or a
 * network error that may not recur. A malformed answer is not: the server would send it again.
 */
export function isTransient(error: unknown): boolean {
  if (isTimeoutError(error)) return true;
  return (
    isNetworkError(error) &&
    !error.malformedResponse &&
    !isLocalShutdown(error) &&
    (isRetryableNetworkError(error) || isExtraRetryable(error) || isCutShort(error.cause))
  );
}

/** An attempt held by the attempt timeout (see `TimeLimit.hold` in `@bulwark/timeout`). */
type HeldAttempt = ReturnType<TimeoutPolicy['hold']>;

/** What the attempts of every call of one client share. */
export interface AttemptSettings {
  readonly dispatcher: Dispatcher;
  readonly timeout: TimeoutPolicy | undefined;
  readonly retryStatuses: Uint8Array;
  readonly attemptHeaders:
    ((args: AttemptHeadersArgs) => Readonly<Record<string, string>> | undefined) | undefined;
  readonly attemptHeader: string | undefined;
  readonly budgetHeader: WriteBudgetOptions | undefined;
  readonly correlation: CorrelationPropagator | undefined;
  /** Whether telemetry may ask what each attempt sent (a listener, or an attempt policy). */
  readonly describeAttempts: boolean;
}

/** What the client's settings make of its calls' attempts, sent through `dispatcher`. */
export function attemptSettings(settings: ClientSettings, dispatcher: Dispatcher): AttemptSettings {
  const { clock, listener, name } = settings;
  return {
    dispatcher,
    timeout:
      settings.timeoutMs === undefined
        ? undefined
        : timeout(settings.timeoutMs, { clock, listener, name }),
    retryStatuses: settings.retryStatuses,
    attemptHeaders: settings.attemptHeaders,
    attemptHeader: settings.attemptHeader,
    budgetHeader:
      settings.budgetHeader === undefined ? undefined : { header: settings.budgetHeader },
    correlation: settings.correlation,
    describeAttempts: listener !== undefined || settings.policies.attempt !== undefined,
  };
}

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';

/** What a call's attempts send (the client's prepared request is one). */
export interface AttemptRequest {
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly body: BodySource;
  /** The client retries, the call did not say `retry: false`, and the method (or key) allows it. */
  readonly mayRetry: boolean;
  /** Hand the response over at the headers, with the body as a stream. */
  readonly streaming: boolean;
  readonly maxBodyBytes: number;
  /** Each attempt's time limit: the client's `timeoutMs`, or the request's `attemptTimeoutMs`. */
  readonly timeout: TimeoutPolicy | undefined;
}

/**
 * How an attempt ended, kept while something may still need it: a response that will be retried
 * (or that a one-shot body may have to report), or an error. Made only on those paths, so a
 * first attempt that succeeds makes none.
 */
type AttemptOutcome =
  | { readonly kind: 'response'; readonly response: ClientResponse; readonly retryable: boolean }
  | { readonly kind: 'error'; readonly error: unknown; readonly retryable: boolean };

/** What the attempt ended with: its response, or its error. */
function endedWith(outcome: AttemptOutcome): unknown {
  return outcome.kind === 'response' ? outcome.response : outcome.error;
}

/** The status the attempt got, if it got a response. */
function statusOf(outcome: AttemptOutcome | undefined): number | undefined {
  return outcome?.kind === 'response' ? outcome.response.status : undefined;
}

/**
 * The attempts of one call of the client (of one pass through the pipeline: a cache
 * revalidation makes another): its request, its attempts and what the last one ended with. The
 * pipeline runs {@link CallAttempts.fn} once per attempt; this is also the step the attempt
 * timeout holds ({@link CallAttempts.call}), so it sees every attempt start and end.
 */
export class CallAttempts implements AttemptOwner, HttpAttemptSource {
  /** The pipeline's function: one attempt under the attempt timeout. */
  readonly fn: ContextFn;
  /** The highest attempt number sent. */
  attempts = 0;
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  readonly streaming: boolean;
  readonly maxBodyBytes: number;
  /** The latest attempt that went out to the dispatcher, and the status it got. */
  private sentAttempt = 0;
  private attemptStatus: number | undefined = undefined;
  private current: Attempt | undefined = undefined;
  private stream: HttpStreamResponse | undefined = undefined;
  /** How the latest attempt ended, when that is still needed. */
  private latest: AttemptOutcome | undefined = undefined;
  private readonly body: BodySource;
  private readonly timeout: TimeoutPolicy | undefined;
  private readonly idempotent: boolean;
  /** The client retries, the call allows it, and so do its method (and key). */
  private readonly mayRetry: boolean;

  constructor(
    private readonly settings: AttemptSettings,
    request: AttemptRequest,
    /** This pass's headers: the request's, or a cache revalidation's conditional ones. */
    private readonly headers: Readonly<Record<string, string>>,
    /** The `@bulwark/correlation` context the call was made in, if any. */
    private readonly requestContext: RequestContext | undefined,
  ) {
    this.method = request.method;
    this.origin = request.origin;
    this.path = request.path;
    this.streaming = request.streaming;
    this.maxBodyBytes = request.maxBodyBytes;
    this.body = request.body;
    this.timeout = request.timeout;
    this.mayRetry = request.mayRetry;
    this.idempotent = isIdempotentMethod(request.method);
    this.fn = (context) => this.runAttempt(context);
    if (settings.describeAttempts) {
      (this.fn as { [httpAttemptSource]?: HttpAttemptSource })[httpAttemptSource] = this;
    }
  }

  /** What attempt `attempt` sent, for telemetry: undefined when it sent nothing (a breaker said no). */
  httpAttempt(attempt: number): HttpAttemptInfo | undefined {
    if (attempt !== this.sentAttempt) return undefined;
    return { method: this.method, url: this.origin + this.path, statusCode: this.attemptStatus };
  }

  willRetryStatus(status: number): boolean {
    return this.mayRetry && this.settings.retryStatuses[status] === 1;
  }

  /** Runs one attempt, and on failure stops its socket and says whether it may be retried. */
  private async runAttempt(context: ExecutionContext): Promise<unknown> {
    const timeout = this.timeout;
    let held: HeldAttempt | undefined;
    let result: unknown;
    try {
      // The attempt timeout ends the attempt on the wire itself (see end()): the limit holds
      // the attempt rather than wrapping it in a promise and a layer of its own.
      if (timeout === undefined) {
        result = await this.call(context);
      } else {
        held = timeout.hold(toContext(context), this);
        result = await this.call(held.context);
      }
    } catch (caught: unknown) {
      const error = held === undefined ? caught : held.failure(caught);
      held?.release();
      const attempt = this.current;
      this.current = undefined;
      // An attempt timeout released us while the request is still on the wire: end it there too.
      attempt?.abort(error instanceof Error ? error : new Error(String(error)));
      this.attemptStatus = attempt?.status;
      this.latest = this.failed(error, attempt?.committed ?? false);
      throw error;
    }
    held?.release();
    this.current = undefined;
    this.latest = this.answered(result as ClientResponse);
    return result;
  }

  /** The attempt timeout expired, or the scope it runs in aborted: the attempt fails with `error`. */
  end(error: Error): void {
    this.current?.abort(error);
  }

  /** Sends one attempt: the step the attempt timeout holds. */
  call(context: ExecutionContext): Promise<unknown> {
    const number = context.attempt;
    this.attempts = number;
    // Everything that can throw comes before the attempt exists, so no promise goes unobserved.
    const headers = this.attemptHeaders(context, number);
    const body = this.body.next();
    if (body === undefined) {
      // The classifier never retries a one-shot body; this guards a caller's own retry around us.
      const latest = this.latest;
      return Promise.reject(
        new StreamBodyNotReplayableError(
          this.method,
          this.origin,
          statusOf(latest),
          latest === undefined ? undefined : endedWith(latest),
        ),
      );
    }
    const attempt = new Attempt(this, number);
    this.current = attempt;
    this.sentAttempt = number;
    this.attemptStatus = undefined;
    this.settings.dispatcher.dispatch(
      {
        origin: this.origin,
        path: this.path,
        method: this.method,
        headers,
        body,
      },
      attempt,
    );
    return attempt.promise;
  }

  private attemptHeaders(context: ExecutionContext, number: number): Record<string, string> {
    const headers = copyHeaders(this.headers);
    const { attemptHeaders, attemptHeader, budgetHeader, correlation } = this.settings;
    let extra: Record<string, string> | undefined;
    if (attemptHeaders !== undefined) {
      const given = attemptHeaders({
        attempt: number,
        method: this.method,
        origin: this.origin,
        path: this.path,
        context,
      });
      if (given !== undefined) {
        extra = {};
        for (const name of Object.keys(given)) extra[name.toLowerCase()] = given[name]!;
      }
    }
    if (correlation !== undefined) this.correlate(headers, extra, correlation);
    if (extra !== undefined) for (const name in extra) headers[name] = extra[name]!;
    if (attemptHeader !== undefined) headers[attemptHeader] = String(number);
    // Inside the attempt timeout, the context's deadline is the attempt's own expiry.
    if (budgetHeader !== undefined && context.deadline !== Infinity) {
      writeBudget(headers, context, budgetHeader);
    }
    return headers;
  }

  /**
   * Adds the correlation ID and trace headers of this attempt (a new span ID each time), except
   * those the caller set: a caller's header wins, and a caller's `traceparent` keeps its own
   * `tracestate` company, so the two never describe different traces.
   */
  private correlate(
    headers: Record<string, string>,
    extra: Record<string, string> | undefined,
    correlation: CorrelationPropagator,
  ): void {
    const context = this.requestContext;
    const outbound = correlation.headers(context);
    const callerTrace = headers[TRACEPARENT] !== undefined || extra?.[TRACEPARENT] !== undefined;
    for (const name in outbound) {
      if (headers[name] !== undefined || extra?.[name] !== undefined) continue;
      if (callerTrace && (name === TRACEPARENT || name === TRACESTATE)) continue;
      headers[name] = outbound[name]!;
    }
  }

  /** A response came back: marks it for the retry policy when its status is retried. */
  private answered(response: ClientResponse): AttemptOutcome | undefined {
    this.attemptStatus = response.status;
    if (response instanceof HttpStreamResponse) this.stream = response;
    const retryable = this.willRetryStatus(response.status);
    if (retryable && this.body.replayable) markedRetryable.add(response);
    // Another attempt after this one needs it only to retry it, or to report a spent body.
    if (!retryable && this.body.replayable) return undefined;
    return { kind: 'response', response, retryable };
  }

  /** An attempt failed: marks the error for the retry policy when another attempt may help. */
  private failed(error: unknown, committed: boolean): AttemptOutcome {
    // Once the headers are in, the server has acted: only an idempotent request may go again.
    const retryable = this.mayRetry && (this.idempotent || !committed) && isTransient(error);
    if (retryable && this.body.replayable && typeof error === 'object' && error !== null) {
      markedRetryable.add(error);
    }
    return { kind: 'error', error, retryable };
  }

  /** The caller's signal aborted: end the attempt on the wire, or the body stream. */
  callerAborted(scope: Scope): void {
    const error = scope.abortError();
    this.current?.abort(error);
    this.stream?.body.destroy(error);
  }

  /** The call failed (a deadline, a bulkhead, a breaker...): nothing of it may stay on the wire. */
  abandon(error: unknown): void {
    const reason = error instanceof Error ? error : new Error(String(error));
    this.current?.abort(reason);
    this.stream?.body.destroy(reason);
  }

  /** The response the caller gets; a retried status the client gave up on is an error instead. */
  callerResponse(result: unknown): ClientResponse {
    if (this.gaveUpOn(result)) {
      throw this.exhausted(new HttpStatusError(result as HttpResponse, this.method, this.origin));
    }
    return result as ClientResponse;
  }

  /** The call failed: nothing of it stays on the wire, and the caller gets this error. */
  callerFailed(error: unknown): never {
    this.abandon(error);
    throw this.callerError(error);
  }

  /** The error the caller gets: a retryable failure the client stopped retrying says so. */
  callerError(error: unknown): unknown {
    return this.gaveUpOn(error) ? this.exhausted(error) : error;
  }

  /** The pipeline ended on what the latest attempt ended with, and it was worth another try. */
  private gaveUpOn(result: unknown): boolean {
    const latest = this.latest;
    return latest !== undefined && latest.retryable && endedWith(latest) === result;
  }

  private exhausted(cause: unknown): Error {
    const status = statusOf(this.latest);
    return this.body.replayable
      ? new RetriesExhaustedError(this.method, this.origin, this.attempts, status, cause)
      : new StreamBodyNotReplayableError(this.method, this.origin, status, cause);
  }
}
