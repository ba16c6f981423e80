import type { Clock, ContextFn, HttpAttemptInfo } from '@bulwark/core';
import { type Context, type HttpAttemptSource, httpAttemptSource } from '@bulwark/core/internal';
import {
  type HttpClient,
  type HttpRequestOptions,
  HttpResponse,
  HttpStatusError,
  HttpStreamResponse,
  RetriesExhaustedError,
} from '@bulwark/http-client';
import type { Balancer } from './balancer.js';
import {
  isEndpointFailure,
  isEndpointFailureStatus,
  isMarkedRetryable,
  isRetryableError,
  markRetryable,
} from './classify.js';
import type { Endpoint } from './endpoint.js';
import type { OutlierDetector } from './outlier-detector.js';

/** What the attempts of every call of a service share. */
export interface ServiceParts {
  readonly name: string;
  readonly http: HttpClient;
  readonly balancer: Balancer;
  readonly outliers: OutlierDetector | undefined;
  readonly clock: Clock;
  readonly decayMs: number;
  readonly attemptHeader: string | undefined;
  /** Whether telemetry may ask what each attempt sent (a listener, or tracing). */
  readonly describeAttempts: boolean;
}

/** What the attempts of every call of one operation share. */
export interface OperationParts {
  /** `<service>.<operation>`. */
  readonly name: string;
  readonly method: string;
  /** 1 at each status worth another attempt. */
  readonly retryStatuses: Uint8Array;
  /** Retry or hedging is on: failures may be marked for another attempt. */
  readonly retries: boolean;
  /** Attempts may run side by side, each aborted on its own. */
  readonly hedged: boolean;
  readonly stream: boolean;
  readonly attemptTimeoutMs: number | false | undefined;
  readonly maxBodyBytes: number | undefined;
}

/** One call's request, prepared once. */
export interface PreparedCall {
  /** The path with its parameters and query. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON body, serialized. */
  readonly body: string | undefined;
  /** May be sent again after it left: idempotent, or carrying an Idempotency-Key. */
  readonly repeatable: boolean;
  /** Idempotent by its method or by the operation's word: safe even after an answer began. */
  readonly idempotent: boolean;
  /** The caller's own signal, if any. */
  readonly signal: AbortSignal | undefined;
}

/**
 * The attempts of one pass of a call through the retry or hedging policy (a cache revalidation
 * makes another pass). Each attempt picks its endpoint (not one this call tried, while another
 * is in rotation), sends one request through the service's HTTP client (whose per-origin breaker
 * is the endpoint's breaker, and whose attempt timeout and deadline apply), and reports the
 * outcome to the endpoint's latency estimate and to outlier detection.
 */
export class CallPass implements HttpAttemptSource {
  /** The retry's function: one attempt. */
  readonly fn: ContextFn;
  /** Endpoints this pass sent to (or tried to), in order. */
  private readonly tried: Endpoint[] = [];
  /** The highest attempt number started. */
  private attempts = 0;
  /** The endpoint of the latest attempt that ended, for errors. */
  private lastOrigin = '';
  /** What each attempt sent, by attempt number, when telemetry may ask. */
  private readonly sent: Array<HttpAttemptInfo | undefined> | undefined;

  constructor(
    private readonly service: ServiceParts,
    private readonly operation: OperationParts,
    private readonly call: PreparedCall,
    /** This pass's headers: the call's, or a cache revalidation's conditional ones. */
    private readonly headers: Readonly<Record<string, string>>,
  ) {
    this.fn = (context) => this.attempt(context as Context);
    this.sent = service.describeAttempts ? [] : undefined;
    if (this.sent !== undefined) {
      (this.fn as { [httpAttemptSource]?: HttpAttemptSource })[httpAttemptSource] = this;
    }
  }

  /** The origin of the endpoint that answered last (for errors). */
  get origin(): string {
    return this.lastOrigin;
  }

  httpAttempt(attempt: number): HttpAttemptInfo | undefined {
    return this.sent?.[attempt - 1];
  }

  private async attempt(context: Context): Promise<HttpResponse | HttpStreamResponse> {
    const { balancer, http, clock } = this.service;
    const { operation, call } = this;
    const endpoint = balancer.pick(this.tried, operation.name);
    this.tried.push(endpoint);
    const number = context.attempt;
    if (number > this.attempts) this.attempts = number;
    const url = endpoint.url + call.path;
    const options = this.requestOptions(context, number);
    endpoint.inFlight++;
    const start = clock.now();
    let response: HttpResponse | HttpStreamResponse;
    try {
      response = await (operation.stream ? http.stream(url, options) : http.request(url, options));
    } catch (error: unknown) {
      endpoint.inFlight--;
      this.lastOrigin = endpoint.origin;
      this.describe(number, url, undefined);
      if (isEndpointFailure(error)) this.endpointFailed(endpoint, start);
      if (operation.retries && isRetryableError(error, call.repeatable, call.idempotent)) {
        markRetryable(error);
      }
      throw error;
    }
    endpoint.inFlight--;
    this.lastOrigin = endpoint.origin;
    const status = response.status;
    this.describe(number, url, status);
    if (isEndpointFailureStatus(status)) {
      this.endpointFailed(endpoint, start);
    } else {
      const now = clock.now();
      endpoint.answer(now - start, now, this.service.decayMs);
      this.service.outliers?.succeeded(endpoint, now, operation.name);
    }
    if (operation.retries && call.repeatable && operation.retryStatuses[status] === 1) {
      markRetryable(response);
    }
    return response;
  }

  private requestOptions(context: Context, attempt: number): HttpRequestOptions {
    const { operation, call } = this;
    let headers = this.headers;
    const attemptHeader = this.service.attemptHeader;
    if (attemptHeader !== undefined) {
      const copy: Record<string, string> = {};
      for (const name in headers) copy[name] = headers[name]!;
      copy[attemptHeader] = String(attempt);
      headers = copy;
    }
    return {
      method: operation.method,
      headers,
      body: call.body,
      // The HTTP client enforces the call's deadline on the attempt and writes what is left of
      // it (or of the attempt timeout) on the wire.
      deadline: context.deadline === Infinity ? undefined : context.deadline,
      // A hedge is aborted on its own when another attempt wins; otherwise only the caller's
      // signal can end an attempt early, and the deadline is enforced above.
      signal: operation.hedged && context.scope.canAbort ? context.signal : call.signal,
      attemptTimeoutMs: operation.attemptTimeoutMs,
      maxBodyBytes: operation.maxBodyBytes,
      operation: operation.name,
    };
  }

  private endpointFailed(endpoint: Endpoint, start: number): void {
    const { clock, decayMs, outliers } = this.service;
    const now = clock.now();
    endpoint.failure(now - start, now, decayMs);
    outliers?.failed(endpoint, now, this.operation.name);
  }

  private describe(attempt: number, url: string, statusCode: number | undefined): void {
    if (this.sent !== undefined) {
      this.sent[attempt - 1] = { method: this.operation.method, url, statusCode };
    }
  }

  /** The response the caller gets: a retried status the retry gave up on is an error instead. */
  async callerResponse(
    result: HttpResponse | HttpStreamResponse,
  ): Promise<HttpResponse | HttpStreamResponse> {
    if (!isMarkedRetryable(result)) return result;
    const { method } = this.operation;
    // The error carries the whole (small) answer, as the HTTP client's does.
    const response =
      result instanceof HttpStreamResponse
        ? new HttpResponse(
            result.status,
            result.statusText,
            result.headers,
            await result.bytes(),
            result.attempts,
          )
        : result;
    throw new RetriesExhaustedError(
      method,
      this.lastOrigin,
      this.attempts,
      response.status,
      new HttpStatusError(response, method, this.lastOrigin),
    );
  }

  /** The error the caller gets: a retryable failure the retry stopped at says so. */
  callerError(error: unknown): unknown {
    if (!isMarkedRetryable(error)) return error;
    return new RetriesExhaustedError(
      this.operation.method,
      this.lastOrigin,
      this.attempts,
      undefined,
      error,
    );
  }
}
