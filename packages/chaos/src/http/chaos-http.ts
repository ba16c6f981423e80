import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import { type Clock, systemClock } from '@bulwark/core';
import {
  checkClock,
  checkInteger,
  checkKnownOptions,
  checkNumber,
  checkOptionsObject,
  describeValue,
} from '@bulwark/core/internal';
import type { Dispatcher } from 'undici';
import { type ChaosHttpEvent, emitChaosEvent } from '../events.js';
import {
  type ChaosSourceOptions,
  SOURCE_OPTION_NAMES,
  type Source,
  checkRate,
  isEnabled,
  parseSource,
} from '../injection.js';
import { CutBody } from './cut-body.js';
import { connectionReset, otherSideClosed } from './network-errors.js';
import { SlowBody } from './slow-body.js';
import { SyntheticExchange } from './synthetic.js';

/** What the interceptor's `enabled` callback receives: never the headers or the body. */
export interface ChaosHttpArgs {
  readonly method: string;
  /** `http://host:port` */
  readonly origin: string;
  /** The path and query. */
  readonly path: string;
}

/** Answers with a status of its own instead of sending the request. */
export interface HttpStatusFault {
  /** The share of requests answered so, in [0, 1]. */
  rate: number;
  /** The status, 200 to 599. Default 503. */
  status?: number;
  /** Adds `Retry-After` with this many seconds (an integer >= 0). Default: no header. */
  retryAfter?: number;
  /** The body, sent as `text/plain; charset=utf-8`. Default: none. */
  body?: string;
}

/** Fails the request as a connection reset before any response; it is not sent. */
export interface ResetBeforeHeadersFault {
  rate: number;
}

/** Sends the request, then resets the connection after the headers and `afterBytes` of body. */
export interface ResetAfterHeadersFault {
  rate: number;
  /** Body bytes passed on before the reset, at most. Default 16. */
  afterBytes?: number;
}

/** Sends the request, then closes the connection after the headers and `afterBytes` of body. */
export interface TruncatedBodyFault {
  rate: number;
  /** Body bytes passed on before the close, at most. Default 16. */
  afterBytes?: number;
}

/** Sends the request, then holds each chunk of the response body `chunkDelayMs` before passing it on. */
export interface SlowBodyFault {
  rate: number;
  /** Milliseconds each chunk is held, on the interceptor's clock. Required. */
  chunkDelayMs: number;
  /** Splits the body into chunks of at most this many bytes. Default 16,384. */
  chunkBytes?: number;
}

export interface ChaosHttpOptions extends ChaosSourceOptions<ChaosHttpArgs> {
  /** Statuses to answer with, each at its own rate (503 and 429 with Retry-After are the usual). */
  statuses?: readonly HttpStatusFault[];
  resetBeforeHeaders?: ResetBeforeHeadersFault;
  resetAfterHeaders?: ResetAfterHeadersFault;
  truncatedBody?: TruncatedBodyFault;
  slowBody?: SlowBodyFault;
  /** The clock slow bodies wait on. Default: the system clock. */
  clock?: Clock;
}

/** An undici interceptor, for `dispatcher.compose()`, that says which seed it runs on. */
export interface ChaosHttpInterceptor extends Dispatcher.DispatcherComposeInterceptor {
  /** The seed of the random source (given, or drawn), to log and replay; undefined with `random`. */
  readonly seed: number | undefined;
}

const OPTION_NAMES: readonly string[] = [
  ...SOURCE_OPTION_NAMES,
  'statuses',
  'resetBeforeHeaders',
  'resetAfterHeaders',
  'truncatedBody',
  'slowBody',
  'clock',
];

/** The fault servers of Bulwark's own tests send this much before breaking a body. */
const DEFAULT_AFTER_BYTES = 16;
/** undici's own chunks are at most this large, so by default a chunk is held as it came. */
const DEFAULT_CHUNK_BYTES = 16_384;
/** Node fires a timer at once when asked for longer than this. */
const MAX_DELAY_MS = 2_147_483_647;
/** Status codes are three digits, and an answer that ends an exchange is not 1xx. */
const MIN_STATUS = 200;
const MAX_STATUS = 599;
/** Sums of decimal rates are inexact in binary: 0.1 + 0.2 + 0.7 is a hair over 1. */
const RATE_SUM_SLACK = 1e-9;
/** A response header on every answer the interceptor makes up, naming the fault. */
const CHAOS_HEADER = 'x-bulwark-chaos';

type HttpFault =
  | {
      readonly kind: 'http-status';
      readonly status: number;
      readonly retryAfter: string | undefined;
      readonly body: Buffer | undefined;
    }
  | { readonly kind: 'reset-before-headers' }
  | { readonly kind: 'reset-after-headers'; readonly afterBytes: number }
  | { readonly kind: 'truncated-body'; readonly afterBytes: number }
  | { readonly kind: 'slow-body'; readonly chunkDelayMs: number; readonly chunkBytes: number };

function checkFaultObject(
  name: string,
  value: unknown,
  names: readonly string[],
): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`expected ${name} to be an object, got ${describeValue(value)}`);
  }
  checkKnownOptions(name, value, names);
}

function parseStatus(name: string, value: unknown): { rate: number; fault: HttpFault } {
  checkFaultObject(name, value, ['rate', 'status', 'retryAfter', 'body']);
  const { rate, status = 503, retryAfter, body } = value;
  checkRate(`${name}.rate`, rate);
  checkInteger(`${name}.status`, status, MIN_STATUS, MAX_STATUS);
  if (retryAfter !== undefined) checkInteger(`${name}.retryAfter`, retryAfter, 0);
  if (body !== undefined && typeof body !== 'string') {
    throw new TypeError(`expected ${name}.body to be a string, got ${describeValue(body)}`);
  }
  return {
    rate,
    fault: {
      kind: 'http-status',
      status,
      retryAfter: retryAfter === undefined ? undefined : String(retryAfter),
      body: body === undefined ? undefined : Buffer.from(body),
    },
  };
}

function parseAfterBytes(name: string, value: Record<string, unknown>): number {
  const { afterBytes = DEFAULT_AFTER_BYTES } = value;
  checkInteger(`${name}.afterBytes`, afterBytes, 0);
  return afterBytes;
}

/** The faults in the order a draw is matched against them, each with its rate. */
function parseFaults(options: ChaosHttpOptions): { rates: number[]; faults: HttpFault[] } {
  const rates: number[] = [];
  const faults: HttpFault[] = [];
  const add = (rate: number, fault: HttpFault): void => {
    rates.push(rate);
    faults.push(fault);
  };
  const { statuses, resetBeforeHeaders, resetAfterHeaders, truncatedBody, slowBody } = options;
  if (statuses !== undefined) {
    if (!Array.isArray(statuses)) {
      throw new TypeError(`expected statuses to be an array, got ${describeValue(statuses)}`);
    }
    statuses.forEach((status: unknown, i) => {
      const { rate, fault } = parseStatus(`statuses[${i}]`, status);
      add(rate, fault);
    });
  }
  if (resetBeforeHeaders !== undefined) {
    checkFaultObject('resetBeforeHeaders', resetBeforeHeaders, ['rate']);
    checkRate('resetBeforeHeaders.rate', resetBeforeHeaders.rate);
    add(resetBeforeHeaders.rate, { kind: 'reset-before-headers' });
  }
  if (resetAfterHeaders !== undefined) {
    checkFaultObject('resetAfterHeaders', resetAfterHeaders, ['rate', 'afterBytes']);
    checkRate('resetAfterHeaders.rate', resetAfterHeaders.rate);
    const afterBytes = parseAfterBytes('resetAfterHeaders', resetAfterHeaders);
    add(resetAfterHeaders.rate, { kind: 'reset-after-headers', afterBytes });
  }
  if (truncatedBody !== undefined) {
    checkFaultObject('truncatedBody', truncatedBody, ['rate', 'afterBytes']);
    checkRate('truncatedBody.rate', truncatedBody.rate);
    const afterBytes = parseAfterBytes('truncatedBody', truncatedBody);
    add(truncatedBody.rate, { kind: 'truncated-body', afterBytes });
  }
  if (slowBody !== undefined) {
    checkFaultObject('slowBody', slowBody, ['rate', 'chunkDelayMs', 'chunkBytes']);
    const { rate, chunkDelayMs, chunkBytes = DEFAULT_CHUNK_BYTES } = slowBody;
    checkRate('slowBody.rate', rate);
    checkNumber('slowBody.chunkDelayMs', chunkDelayMs, 0, MAX_DELAY_MS);
    checkInteger('slowBody.chunkBytes', chunkBytes, 1);
    add(rate, { kind: 'slow-body', chunkDelayMs, chunkBytes });
  }
  const sum = rates.reduce((a, b) => a + b, 0);
  if (sum > 1 + RATE_SUM_SLACK) {
    throw new RangeError(
      `expected the rates of chaosHttp()'s faults to add up to at most 1, got ${sum}`,
    );
  }
  return { rates, faults };
}

function originOf(origin: Dispatcher.DispatchOptions['origin']): string {
  if (typeof origin === 'string') return origin;
  return origin === undefined ? '' : origin.origin;
}

/** The answer a status fault makes: headers as undici would hand them over (lower-case names). */
function statusAnswer(fault: Extract<HttpFault, { kind: 'http-status' }>, method: string) {
  const headers: IncomingHttpHeaders = { [CHAOS_HEADER]: fault.kind };
  if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
  const body = method === 'HEAD' ? undefined : fault.body;
  if (fault.body !== undefined) {
    headers['content-type'] = 'text/plain; charset=utf-8';
    headers['content-length'] = String(fault.body.length);
  } else {
    headers['content-length'] = '0';
  }
  return { status: fault.status, statusText: STATUS_CODES[fault.status] ?? '', headers, body };
}

class ChaosHttp {
  /** Cumulative rates: a draw below `thresholds[i]` (and not below the one before) picks fault i. */
  private readonly thresholds: Float64Array;

  constructor(
    private readonly source: Source<ChaosHttpArgs>,
    private readonly faults: readonly HttpFault[],
    rates: readonly number[],
    private readonly clock: Clock,
  ) {
    this.thresholds = new Float64Array(rates.length);
    let sum = 0;
    for (let i = 0; i < rates.length; i++) {
      sum += rates[i]!;
      this.thresholds[i] = sum;
    }
  }

  /** One draw per request while enabled, whatever it picks: the same seed replays the same requests. */
  pick(opts: Dispatcher.DispatchOptions): HttpFault | undefined {
    const enabled = this.source.enabled;
    if (enabled !== true) {
      if (enabled === false) return undefined;
      const args =
        typeof enabled === 'function'
          ? { method: opts.method, origin: originOf(opts.origin), path: opts.path }
          : undefined;
      if (!isEnabled(enabled, args!)) return undefined;
    }
    const draw = this.source.random();
    const thresholds = this.thresholds;
    for (let i = 0; i < thresholds.length; i++) {
      if (draw < thresholds[i]!) return this.faults[i];
    }
    return undefined;
  }

  dispatch(
    dispatch: Dispatcher.Dispatch,
    opts: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    // An upgrade (CONNECT, WebSocket) is not an exchange these faults model.
    const fault = opts.upgrade ? undefined : this.pick(opts);
    if (fault === undefined) return dispatch(opts, handler);
    this.report(opts, fault);
    switch (fault.kind) {
      case 'http-status':
        new SyntheticExchange(handler, statusAnswer(fault, opts.method)).start();
        return true;
      case 'reset-before-headers':
        new SyntheticExchange(handler, { error: connectionReset }).start();
        return true;
      case 'reset-after-headers':
        return dispatch(opts, new CutBody(handler, fault.afterBytes, connectionReset));
      case 'truncated-body':
        return dispatch(opts, new CutBody(handler, fault.afterBytes, otherSideClosed));
      case 'slow-body':
        return dispatch(
          opts,
          new SlowBody(handler, this.clock, fault.chunkDelayMs, fault.chunkBytes),
        );
    }
  }

  private report(opts: Dispatcher.DispatchOptions, fault: HttpFault): void {
    const listener = this.source.listener;
    if (listener === undefined) return;
    const method = opts.method;
    const origin = originOf(opts.origin);
    const base = {
      type: 'chaos-injected',
      policy: 'chaos',
      name: this.source.name,
      operation: `${method} ${origin}`,
      method,
      origin,
    } as const;
    let event: ChaosHttpEvent;
    switch (fault.kind) {
      case 'http-status':
        event = { ...base, kind: fault.kind, status: fault.status };
        break;
      case 'reset-before-headers':
        event = { ...base, kind: fault.kind };
        break;
      case 'reset-after-headers':
      case 'truncated-body':
        event = { ...base, kind: fault.kind, afterBytes: fault.afterBytes };
        break;
      case 'slow-body':
        event = { ...base, kind: fault.kind, chunkDelayMs: fault.chunkDelayMs };
        break;
    }
    emitChaosEvent(listener, event);
  }
}

/**
 * An undici interceptor that injects HTTP faults into a share of requests, in the client: the
 * statuses, connection resets, truncated and slow bodies of an outage, without touching the
 * server. The errors it injects are the ones undici reports for the real thing (a reset is
 * ECONNRESET, a truncated body undici's `SocketError`), so the client's own classification
 * decides what is retried, as it would in the outage.
 *
 * Each request is matched once against the faults (one draw, while enabled): at most one fault
 * per request, with the probability its rate gives. A status or a reset before the headers is
 * answered here, and the request never leaves the process.
 *
 * @example
 * const dispatcher = new Agent().compose(
 *   chaosHttp({ statuses: [{ rate: 0.05, status: 503 }], resetBeforeHeaders: { rate: 0.01 } }),
 * );
 * const client = createHttpClient({ baseUrl, dispatcher });
 */
export function chaosHttp(options: ChaosHttpOptions = {}): ChaosHttpInterceptor {
  checkOptionsObject('chaosHttp', options);
  checkKnownOptions('chaosHttp', options, OPTION_NAMES);
  const source = parseSource(options);
  const { rates, faults } = parseFaults(options);
  const { clock = systemClock } = options;
  checkClock(clock);
  const chaos = new ChaosHttp(source, faults, rates, clock);
  const interceptor = (dispatch: Dispatcher.Dispatch): Dispatcher.Dispatch =>
    function chaosDispatch(opts, handler) {
      return chaos.dispatch(dispatch, opts, handler);
    };
  return Object.assign(interceptor, { seed: source.seed });
}
