import { type Clock, systemClock } from '@bulwark/core';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  optionNames,
  randomString,
} from '@bulwark/core/internal';
import { type IdempotencyListener, emitIdempotency } from './events.js';
import { fingerprint, storeKey } from './fingerprint.js';
import { DEFAULT_MAX_KEY_LENGTH, parseIdempotencyKey } from './idempotency-key.js';
import {
  CONFLICT_RETRY_AFTER_S,
  PROBLEM_CONTENT_TYPE,
  type ProblemDetails,
  type RejectReason,
  UNAVAILABLE_RETRY_AFTER_S,
  conflictProblem,
  invalidKeyProblem,
  mismatchProblem,
  missingKeyProblem,
  unavailableProblem,
  unfingerprintableProblem,
} from './problem.js';
import type { CompleteRecord, InProgressRecord } from './record.js';
import { memoryStore } from './stores/memory.js';
import type { IdempotencyStore } from './stores/store.js';

/** The methods the draft is about: not idempotent by definition, so a retry may repeat an effect. */
export const DEFAULT_METHODS: readonly string[] = ['POST', 'PATCH'];
/** How long a response is replayed: a day covers every sane client retry schedule. */
export const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;
/** How long a claim holds when its request never completes (the instance crashed). */
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
/** Response headers stored and replayed. Set-Cookie is left out on purpose. */
export const DEFAULT_REPLAY_HEADERS: readonly string[] = [
  'content-type',
  'content-language',
  'content-location',
  'location',
  'etag',
  'last-modified',
  'link',
  'cache-control',
];
/**
 * Whether a response is stored for replay by default: everything but 429 and 5xx, which free the
 * key instead. A 429 or 503 says "not done, try again later", and a 500 or 504 usually means the
 * handler failed part way: replaying either would turn a short outage into a day of failures for
 * that key. A handler that must never run twice after a partial failure should answer 4xx or
 * 2xx for it, or pass its own `shouldStore`.
 */
export function defaultShouldStore({ status }: { readonly status: number }): boolean {
  return status !== 429 && status < 500;
}
/** The largest response body stored for replay by default: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Set on every replayed response. */
export const REPLAYED_HEADER = 'idempotent-replayed';

export interface IdempotencyOptions {
  /** Where records live. Default: a `memoryStore()`. */
  store?: IdempotencyStore;
  /** The methods handled; others bypass. Default `['POST', 'PATCH']`. */
  methods?: readonly string[];
  /** Whether a handled request without a key gets 400. Default false (it runs unprotected). */
  required?: boolean | ((args: { readonly method: string; readonly path: string }) => boolean);
  /** How long a completed response is replayed. Default 24 h. */
  ttlMs?: number;
  /**
   * How long a claim lasts without completing. Must exceed the slowest handler: a duplicate that
   * arrives after it runs again. Default 60 s.
   */
  lockTimeoutMs?: number;
  /** The longest key accepted, unquoted. Default 256. */
  maxKeyLength?: number;
  /** Response headers stored and replayed (case-insensitive). Default: content and location headers. */
  replayHeaders?: readonly string[];
  /** Whether a response is stored (else the key is released). Default: all but 429 and 5xx. */
  shouldStore?: (args: { readonly status: number }) => boolean;
  /**
   * The largest response body stored, in bytes. A larger response is sent as usual but not
   * stored: the key is released (event outcome `too-large`). Default 1 MiB.
   */
  maxBodyBytes?: number;
  /** Stamps records with wall-clock times. Default: the system clock. */
  clock?: Clock;
  /** Receives `idempotency-decision` and `idempotency-completion` events. */
  listener?: IdempotencyListener;
}

/** One incoming request, as any framework can describe it. */
export interface IdempotencyRequest {
  readonly method: string;
  /** The request target: path and query string. */
  readonly path: string;
  /** The raw Idempotency-Key field value(s), exactly as received; undefined when absent. */
  readonly key: string | readonly string[] | undefined;
  /**
   * Who is calling, e.g. the authenticated user or API client id. Keys are scoped to it, so one
   * caller never receives another's response. Requests without one share one namespace.
   */
  readonly identity?: string | undefined;
  /**
   * The body: raw bytes or text (hashed as is) or a parsed value (hashed canonically, keys
   * sorted). Pass the same form for every request of a route.
   */
  readonly body?: unknown;
}

/** The response a handler produced, to store for replay. */
export interface IdempotencyResponse {
  readonly status: number;
  /** Any case; only `replayHeaders` are kept. Node's `res.getHeaders()` fits. */
  readonly headers?: Readonly<Record<string, string | number | readonly string[] | undefined>>;
  readonly body?: Uint8Array | string;
}

/** A stored response, ready to send again. */
export interface ReplayedResponse {
  readonly status: number;
  /** The stored headers plus `idempotent-replayed: true`; fits Node's `res.writeHead()`. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Buffer;
}

/** Not this package's business: run the handler as usual. */
export interface IdempotencyBypass {
  readonly kind: 'bypass';
}

/** The key is claimed: run the handler, then `complete()` with its response or `release()`. */
export interface IdempotencyClaim {
  readonly kind: 'proceed';
  /**
   * The largest body `complete()` stores. Adapters stop buffering a response past it and call
   * `release('too-large')` instead.
   */
  readonly maxBodyBytes: number;
  /**
   * Stores the response for replay (or releases the key if `shouldStore` says no). Resolves to
   * whether it was stored; never rejects for store failures. Only the first of `complete` and
   * `release` counts.
   */
  complete(response: IdempotencyResponse): Promise<boolean>;
  /**
   * Frees the key so a retry runs: call it when the request failed before the handler produced
   * a response (`'failed'`, the default), when its client went away before the response was
   * complete (`'client-closed'`), or when the response was too large to store (`'too-large'`).
   * Never rejects for a store failure (only for a reason that is none of these).
   */
  release(reason?: ReleaseReason): Promise<void>;
}

/** A duplicate of a completed request: send this instead of running the handler. */
export interface IdempotencyReplay {
  readonly kind: 'replay';
  readonly response: ReplayedResponse;
}

/** Refused: send `status`, `headers` and `body` (problem+json) and do not run the handler. */
export interface IdempotencyRejection {
  readonly kind: 'reject';
  readonly status: 400 | 409 | 422 | 503;
  readonly reason: RejectReason;
  readonly problem: ProblemDetails;
  /** `content-type: application/problem+json`, and `retry-after` for 409 and 503. */
  readonly headers: Readonly<Record<string, string>>;
  /** The problem, serialised. */
  readonly body: string;
}

export type IdempotencyDecision =
  IdempotencyBypass | IdempotencyClaim | IdempotencyReplay | IdempotencyRejection;

/** The framework-neutral core. Build it with {@link idempotency}. */
export interface Idempotency {
  /** Decides what to do with one request; claims its key when it should run. */
  begin(request: IdempotencyRequest): Promise<IdempotencyDecision>;
}

const BYPASS: IdempotencyBypass = Object.freeze({ kind: 'bypass' });

function reject(
  status: 400 | 409 | 422 | 503,
  reason: RejectReason,
  problem: ProblemDetails,
): IdempotencyRejection {
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (status === 409) headers['retry-after'] = String(CONFLICT_RETRY_AFTER_S);
  if (status === 503) headers['retry-after'] = String(UNAVAILABLE_RETRY_AFTER_S);
  return { kind: 'reject', status, reason, problem, headers, body: JSON.stringify(problem) };
}

function toBytes(body: Uint8Array | string | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  // A copy: the caller may reuse its buffer once the response is written.
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
}

/** Why a claim was released rather than completed. */
export type ReleaseReason = 'failed' | 'client-closed' | 'too-large';
const RELEASE_REASONS: readonly ReleaseReason[] = ['failed', 'client-closed', 'too-large'];

class Claim implements IdempotencyClaim {
  readonly kind = 'proceed';
  private done = false;

  constructor(
    private readonly owner: IdempotencyCore,
    private readonly key: string,
    private readonly claim: InProgressRecord,
  ) {}

  get maxBodyBytes(): number {
    return this.owner.maxBodyBytes;
  }

  async complete(response: IdempotencyResponse): Promise<boolean> {
    checkOptionsObject('complete', response);
    checkInteger('status', response.status, 100, 599);
    if (this.done) return false;
    this.done = true;
    const owner = this.owner;
    if (!owner.shouldStore({ status: response.status })) {
      await this.free(response.status, 'released');
      return false;
    }
    const body = toBytes(response.body);
    if (body.byteLength > owner.maxBodyBytes) {
      await this.free(response.status, 'too-large');
      return false;
    }
    const record: CompleteRecord = {
      state: 'complete',
      fingerprint: this.claim.fingerprint,
      status: response.status,
      headers: owner.pickHeaders(response.headers),
      body,
      completedAt: owner.clock.dateNow(),
    };
    let stored: boolean;
    try {
      stored = await owner.store.complete(this.key, this.claim, record, owner.ttlMs);
    } catch (error: unknown) {
      owner.completion('store-error', response.status, error);
      return false;
    }
    owner.completion(stored ? 'stored' : 'claim-lost', response.status, undefined);
    return stored;
  }

  async release(reason: ReleaseReason = 'failed'): Promise<void> {
    if (!RELEASE_REASONS.includes(reason)) {
      throw new TypeError(
        `expected reason to be one of ${RELEASE_REASONS.map((r) => `"${r}"`).join(', ')}, got ${JSON.stringify(reason)}`,
      );
    }
    if (this.done) return;
    this.done = true;
    await this.free(undefined, reason === 'too-large' ? 'too-large' : 'released');
  }

  private async free(status: number | undefined, outcome: 'released' | 'too-large'): Promise<void> {
    let released: boolean;
    try {
      released = await this.owner.store.release(this.key, this.claim);
    } catch (error: unknown) {
      this.owner.completion('store-error', status, error);
      return;
    }
    this.owner.completion(released ? outcome : 'claim-lost', status, undefined);
  }
}

/** The options of {@link idempotency}, checked and with the defaults filled in. */
interface IdempotencySettings {
  readonly store: IdempotencyStore;
  readonly methods: readonly string[];
  readonly required: NonNullable<IdempotencyOptions['required']>;
  readonly ttlMs: number;
  readonly lockTimeoutMs: number;
  readonly maxKeyLength: number;
  readonly replayHeaders: readonly string[];
  readonly shouldStore: NonNullable<IdempotencyOptions['shouldStore']>;
  readonly maxBodyBytes: number;
  readonly clock: Clock;
  readonly listener: IdempotencyListener | undefined;
}

class IdempotencyCore implements Idempotency {
  readonly store: IdempotencyStore;
  private readonly methods: ReadonlySet<string>;
  private readonly required: IdempotencySettings['required'];
  readonly ttlMs: number;
  private readonly lockTimeoutMs: number;
  private readonly maxKeyLength: number;
  private readonly replayHeaders: ReadonlySet<string>;
  readonly shouldStore: IdempotencySettings['shouldStore'];
  readonly maxBodyBytes: number;
  readonly clock: Clock;
  private readonly listener: IdempotencyListener | undefined;

  constructor(settings: IdempotencySettings) {
    this.store = settings.store;
    this.methods = new Set(settings.methods.map((m) => m.toUpperCase()));
    this.required = settings.required;
    this.ttlMs = settings.ttlMs;
    this.lockTimeoutMs = settings.lockTimeoutMs;
    this.maxKeyLength = settings.maxKeyLength;
    this.replayHeaders = new Set(settings.replayHeaders.map((h) => h.toLowerCase()));
    this.shouldStore = settings.shouldStore;
    this.maxBodyBytes = settings.maxBodyBytes;
    this.clock = settings.clock;
    this.listener = settings.listener;
  }

  async begin(request: IdempotencyRequest): Promise<IdempotencyDecision> {
    checkOptionsObject('begin', request);
    const { method: rawMethod, path, key: rawKey, identity, body } = request;
    if (typeof rawMethod !== 'string' || typeof path !== 'string') {
      throw new TypeError('expected method and path to be strings');
    }
    if (identity !== undefined && typeof identity !== 'string') {
      throw new TypeError('expected identity to be a string or undefined');
    }
    const method = rawMethod.toUpperCase();
    if (!this.methods.has(method)) return this.decided(BYPASS, 'bypass', method);

    if (rawKey === undefined || (typeof rawKey !== 'string' && rawKey.length === 0)) {
      const required =
        typeof this.required === 'boolean' ? this.required : this.required({ method, path });
      if (required)
        return this.decided(reject(400, 'missing', missingKeyProblem()), 'missing', method);
      return this.decided(BYPASS, 'bypass', method);
    }
    const parsed = parseIdempotencyKey(rawKey, this.maxKeyLength);
    if (!parsed.ok) {
      const problem = invalidKeyProblem(parsed.problem, this.maxKeyLength);
      return this.decided(reject(400, 'invalid', problem), 'invalid', method);
    }

    let print: string;
    try {
      print = fingerprint(method, path, body);
    } catch {
      return this.decided(reject(400, 'invalid', unfingerprintableProblem()), 'invalid', method);
    }
    const key = storeKey(identity, parsed.key);
    const claim: InProgressRecord = {
      state: 'in_progress',
      // 128 bits from the CSPRNG: only the claim's owner may complete or release its record.
      token: randomString(16, 'base64url'),
      fingerprint: print,
      startedAt: this.clock.dateNow(),
    };
    let existing;
    try {
      existing = await this.store.claim(key, claim, this.lockTimeoutMs);
    } catch (error: unknown) {
      return this.decided(
        reject(503, 'unavailable', unavailableProblem()),
        'unavailable',
        method,
        error,
      );
    }
    if (existing === undefined) return this.decided(new Claim(this, key, claim), 'proceed', method);
    if (existing.fingerprint !== print) {
      return this.decided(reject(422, 'mismatch', mismatchProblem()), 'mismatch', method);
    }
    if (existing.state === 'in_progress') {
      return this.decided(reject(409, 'conflict', conflictProblem()), 'conflict', method);
    }
    // Fresh copies: whatever the adapter does to them cannot reach the stored record.
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(existing.headers)) {
      headers[name] = typeof value === 'string' ? value : [...value];
    }
    headers[REPLAYED_HEADER] = 'true';
    const replay: IdempotencyReplay = {
      kind: 'replay',
      response: { status: existing.status, headers, body: Buffer.from(existing.body) },
    };
    return this.decided(replay, 'replay', method);
  }

  /** @internal The stored subset of a response's headers, names lowercase. */
  pickHeaders(headers: IdempotencyResponse['headers']): Record<string, string | readonly string[]> {
    const picked: Record<string, string | readonly string[]> = {};
    if (headers === undefined) return picked;
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      if (!this.replayHeaders.has(lower)) continue;
      const value = headers[name];
      if (value === undefined) continue;
      picked[lower] = typeof value === 'object' ? value.map(String) : String(value);
    }
    return picked;
  }

  /** @internal */
  completion(
    outcome: 'stored' | 'released' | 'too-large' | 'claim-lost' | 'store-error',
    status: number | undefined,
    error: unknown,
  ): void {
    if (this.listener !== undefined) {
      emitIdempotency(this.listener, { type: 'idempotency-completion', outcome, status, error });
    }
  }

  private decided<D extends IdempotencyDecision>(
    decision: D,
    outcome: 'bypass' | 'proceed' | 'replay' | RejectReason,
    method: string,
    error?: unknown,
  ): D {
    if (this.listener !== undefined) {
      emitIdempotency(this.listener, { type: 'idempotency-decision', outcome, method, error });
    }
    return decision;
  }
}

const OPTION_NAMES = optionNames<IdempotencyOptions>({
  store: true,
  methods: true,
  required: true,
  ttlMs: true,
  lockTimeoutMs: true,
  maxKeyLength: true,
  replayHeaders: true,
  shouldStore: true,
  maxBodyBytes: true,
  clock: true,
  listener: true,
});

function checkStringList(name: string, value: unknown): asserts value is readonly string[] {
  if (
    !Array.isArray(value) ||
    value.some((item) => typeof item !== 'string' || item.length === 0)
  ) {
    throw new TypeError(`expected ${name} to be an array of non-empty strings`);
  }
}

/**
 * Server-side Idempotency-Key handling (draft-ietf-httpapi-idempotency-key-header), independent
 * of any framework: `begin()` a request, then run the handler and `complete()` the claim, or
 * send the replay or rejection it returns instead.
 */
export function idempotency(options: IdempotencyOptions = {}): Idempotency {
  checkOptionsObject('idempotency', options);
  checkKnownOptions('idempotency', options, OPTION_NAMES);
  const {
    store = memoryStore(),
    methods = DEFAULT_METHODS,
    required = false,
    ttlMs = DEFAULT_TTL_MS,
    lockTimeoutMs = DEFAULT_LOCK_TIMEOUT_MS,
    maxKeyLength = DEFAULT_MAX_KEY_LENGTH,
    replayHeaders = DEFAULT_REPLAY_HEADERS,
    shouldStore = defaultShouldStore,
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    clock = systemClock,
    listener,
  } = options;
  if (
    typeof store !== 'object' ||
    store === null ||
    typeof store.claim !== 'function' ||
    typeof store.complete !== 'function' ||
    typeof store.release !== 'function'
  ) {
    throw new TypeError('expected store to have claim(), complete() and release() methods');
  }
  checkStringList('methods', methods);
  if (typeof required !== 'function') checkBoolean('required', required);
  checkInteger('ttlMs', ttlMs, 1);
  checkInteger('lockTimeoutMs', lockTimeoutMs, 1);
  checkInteger('maxKeyLength', maxKeyLength, 1, 8_192);
  checkStringList('replayHeaders', replayHeaders);
  checkFunction('shouldStore', shouldStore);
  checkInteger('maxBodyBytes', maxBodyBytes, 0);
  if (listener !== undefined) checkFunction('listener', listener);
  return new IdempotencyCore({
    store,
    methods,
    required,
    ttlMs,
    lockTimeoutMs,
    maxKeyLength,
    replayHeaders,
    shouldStore,
    maxBodyBytes,
    clock,
    listener,
  });
}
