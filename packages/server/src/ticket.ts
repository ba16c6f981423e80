import type { RequestContext } from '@bulwark/correlation';
import type { HealthKind } from '@bulwark/health';

/** Request headers as Node gives them: lowercase names, repeated fields joined. */
export type InboundHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Durations are measured in milliseconds and reported in seconds. */
export const MS_PER_SECOND = 1000;

/** The path of a request URL, without its query. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** A route the stack answers itself: a health view or the metrics page. */
export type OwnRoute = HealthKind | 'metrics';

/**
 * An answer the adapters write as it is, without running the routes: a health view, the metrics
 * page, an idempotent replay, or a refusal (a rate limit, an Idempotency-Key problem).
 */
export interface Answer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: string | Buffer;
}

/** The request may go on to the routes. */
export interface Admitted {
  readonly kind: 'admitted';
}

/** A health view or the metrics page: the stack's own route, never limited or correlated. */
export interface OwnRouteAdmission {
  readonly kind: 'own-route';
  readonly route: OwnRoute;
}

/** Refused with an error for the framework's error handling (shedding, a spent budget). */
export interface Rejected {
  readonly kind: 'rejected';
  readonly error: Error;
}

/** Refused with an answer to write as it is (a rate limit's 429). */
export interface Answered {
  readonly kind: 'answer';
  readonly answer: Answer;
}

/** The decision waits for a queue slot or a remote store: the ticket's `resume()` gets it. */
export interface Pending {
  readonly kind: 'pending';
}

/** The client left while its admission waited: there is nobody to answer. */
export interface Gone {
  readonly kind: 'gone';
}

/** What admission decided for one request. Every outcome but a refusal is a shared constant. */
export type Admission = Admitted | OwnRouteAdmission | Rejected | Answered | Pending | Gone;
/** An outcome `resume()` receives: never pending. */
export type Resumed = Exclude<Admission, Pending>;

export const ADMITTED: Admitted = Object.freeze({ kind: 'admitted' });
export const PENDING: Pending = Object.freeze({ kind: 'pending' });
export const GONE: Gone = Object.freeze({ kind: 'gone' });

export function rejected(error: Error): Rejected {
  return { kind: 'rejected', error };
}

export function answered(answer: Answer): Answered {
  return { kind: 'answer', answer };
}

/**
 * One request as the stack sees it, from its admission to the end of its response. Each adapter
 * subclasses it once: the getters read the framework's request, `setHeader()` writes on its
 * response, and `resume()` carries on with a decision that had to wait. The stack keeps the
 * request's state in the fields below, so admitting a request at once allocates nothing more.
 */
export abstract class Ticket<Req = unknown> {
  /** The request's correlation context; an adapter that made it earlier (for logs) sets it first. */
  context: RequestContext | undefined = undefined;
  /** Holds one of the fixed limit's slots. */
  held = false;
  /** Ends the bulkhead call that holds a slot of a queue or an adaptive limit. */
  release: (() => void) | undefined = undefined;
  /** Takes the request out of the bulkhead's queue. */
  abort: AbortController | undefined = undefined;
  /** The response has closed (finished, or its client left): set by `BulwarkStack.release()`. */
  closed = false;
  /** The request has been counted in the request metrics. */
  observed = false;

  /** The framework's request, as the `identity` callbacks receive it. */
  abstract readonly request: Req;
  abstract readonly method: string;
  /** Path and query, relative to where Bulwark is mounted: what own routes are matched on. */
  abstract readonly url: string;
  abstract readonly headers: InboundHeaders;

  /** Path and query as the client sent them: part of an Idempotency-Key's fingerprint. */
  abstract readonly originalUrl: string;
  /** Name, value, name, value...: tells a repeated Idempotency-Key from one key. */
  abstract readonly rawHeaders: readonly string[] | undefined;
  /** The parsed body (or raw bytes): part of an Idempotency-Key's fingerprint. */
  abstract readonly body: unknown;
  /** Whether a body is still on the wire with nothing to parse it before the gate needs it. */
  get bodyUnread(): boolean {
    return false;
  }

  /** Writes a header on the response (the echoed correlation ID, rate-limit fields). */
  abstract setHeader(name: string, value: string): void;
  /** Carries on with an admission that was pending. */
  abstract resume(outcome: Resumed): void;
}
