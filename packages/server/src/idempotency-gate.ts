import type { Clock } from '@bulwark/core';
import { checkFunction, checkKnownOptions, checkOptionsObject } from '@bulwark/core/internal';
import {
  DEFAULT_METHODS,
  IDEMPOTENCY_KEY_HEADER,
  PROBLEM_CONTENT_TYPE,
  type Idempotency,
  type IdempotencyBypass,
  type IdempotencyClaim,
  type IdempotencyDecision,
  idempotency,
} from '@bulwark/idempotency';
import type { IdempotencyOptions } from './idempotency-options.js';
import { FACTORY, IDEMPOTENCY_OPTIONS } from './stack-options.js';
import type { Answer, Answered, InboundHeaders, Ticket } from './ticket.js';

/** What the adapters know of a request when they ask the gate. */
export interface GateRequest<Req> {
  readonly method: string;
  /** Path and query, as received. */
  readonly path: string;
  /**
   * The request's headers. Node joins a repeated field into one value; `rawHeaders` (name,
   * value, name, value...) keeps each copy apart, so a repeated Idempotency-Key is refused as
   * such. Read only when the key is present.
   */
  readonly headers: InboundHeaders;
  readonly rawHeaders: readonly string[] | undefined;
  /** The parsed body (or raw bytes). */
  readonly body: unknown;
  /** The framework's request, for the `identity` callback. */
  readonly request: Req;
}

/**
 * What an adapter does with an admitted request once the gate has decided: run the routes
 * (`bypass`), run them and store their response under the claimed key (`proceed`), or write an
 * answer instead of running them (a replay, or a refusal of the key).
 */
export type IdempotencyStep = IdempotencyBypass | IdempotencyClaim | Answered;

const BYPASS: IdempotencyBypass = Object.freeze({ kind: 'bypass' });

/** The problem answered when a keyed request's body was not parsed before Bulwark ran. */
export const UNPARSED_BODY = Object.freeze({
  type: 'urn:bulwark:idempotency:body-unparsed',
  title: 'Request body cannot be compared',
  status: 415,
  detail:
    'The request body was not parsed, so a retry with this Idempotency-Key cannot be matched against it. Send a body of a media type this service accepts.',
});
const UNPARSED_BODY_STEP: Answered = Object.freeze({
  kind: 'answer',
  answer: Object.freeze({
    statusCode: UNPARSED_BODY.status,
    headers: Object.freeze({ 'content-type': PROBLEM_CONTENT_TYPE }),
    body: JSON.stringify(UNPARSED_BODY),
  }),
});

/** Replays and refusals are answers written as they are; the other two decisions run the routes. */
function stepOf(decision: IdempotencyDecision): IdempotencyStep {
  switch (decision.kind) {
    case 'bypass':
    case 'proceed':
      return decision;
    case 'replay': {
      const { status, headers, body } = decision.response;
      return { kind: 'answer', answer: { statusCode: status, headers, body } };
    }
    case 'reject': {
      const answer: Answer = {
        statusCode: decision.status,
        headers: decision.headers,
        body: decision.body,
      };
      return { kind: 'answer', answer };
    }
  }
}

/**
 * `@bulwark/idempotency`'s core, with the method check done before any promise is made: a GET
 * costs one Set lookup.
 */
export class IdempotencyGate<Req = unknown> {
  private readonly methods: ReadonlySet<string>;

  constructor(
    private readonly core: Idempotency,
    methods: readonly string[],
    private readonly identity:
      ((args: { readonly request: Req }) => string | undefined) | undefined,
  ) {
    this.methods = new Set(methods.map((m) => m.toUpperCase()));
  }

  /** Whether requests with this method go through the gate at all. */
  handles(method: string): boolean {
    return this.methods.has(method);
  }

  /**
   * The step for an admitted request: `bypass` at once, with no promise, for a method the gate
   * does not handle; a 415 answer for a keyed body nothing parsed; else the gate's decision.
   */
  step(ticket: Ticket<Req>): IdempotencyStep | Promise<IdempotencyStep> {
    if (!this.methods.has(ticket.method)) return BYPASS;
    // The body is part of the fingerprint: it must have been parsed before the gate runs.
    if (ticket.bodyUnread) return UNPARSED_BODY_STEP;
    return this.begin({
      method: ticket.method,
      path: ticket.originalUrl,
      headers: ticket.headers,
      rawHeaders: ticket.rawHeaders,
      body: ticket.body,
      request: ticket.request,
    }).then(stepOf);
  }

  begin(request: GateRequest<Req>): Promise<IdempotencyDecision> {
    const identity = this.identity?.({ request: request.request });
    const joined = request.headers[IDEMPOTENCY_KEY_HEADER];
    return this.core.begin({
      method: request.method,
      path: request.path,
      key: joined === undefined ? undefined : keyCopies(request.rawHeaders, joined),
      identity,
      body: request.body,
    });
  }
}

/**
 * Each Idempotency-Key field the request carried, from its raw headers. Scanning them is cheaper
 * than `IncomingMessage.headersDistinct`, which builds an array for every header of the request.
 * A request without raw headers gives the joined value.
 */
function keyCopies(
  raw: readonly string[] | undefined,
  joined: string | readonly string[],
): string | readonly string[] {
  if (raw === undefined) return joined;
  const name = IDEMPOTENCY_KEY_HEADER;
  const copies: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const field = raw[i]!;
    if (field.length === name.length && field.toLowerCase() === name) copies.push(raw[i + 1]!);
  }
  return copies.length === 0 ? joined : copies;
}

export function resolveIdempotency<Req>(
  value: false | IdempotencyOptions<Req> | undefined,
  clock: Clock,
): IdempotencyGate<Req> | undefined {
  if (value === undefined || value === false) return undefined;
  checkOptionsObject('idempotency', value);
  // The clock is the stack's: one given here would be dropped without a word.
  checkKnownOptions(FACTORY, value, IDEMPOTENCY_OPTIONS, 'idempotency');
  const { identity, ...core } = value;
  if (identity !== 'shared') {
    if (identity === undefined) {
      throw new TypeError(
        "expected idempotency.identity: a function returning who is calling (e.g. ({ request }) => request.user.id), or 'shared' to put every caller in one namespace",
      );
    }
    checkFunction('idempotency.identity', identity);
  }
  // The core validates the rest, methods included.
  const gate = idempotency({ ...core, clock });
  return new IdempotencyGate(
    gate,
    core.methods ?? DEFAULT_METHODS,
    identity === 'shared' ? undefined : identity,
  );
}
