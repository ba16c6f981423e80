import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, type TimerHandle, bindSuccess, systemClock } from '@bulwark/core';
import {
  checkClock,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  describeValue,
  unrefTimer,
} from '@bulwark/core/internal';
import { AssetFiles } from './assets.js';
import { Board, type BreakerViewLike } from './board.js';
import type { ObservedBulkheadLike, ObservedRetryBudgetLike } from './entities.js';
import type { DashboardEventListener } from './events.js';
import { type FullFrame, renderPage } from './page.js';
import { type MetricsRegistryLike, ServerSource } from './server-source.js';
import { buildHistory, buildSnapshot } from './snapshot.js';
import type { Snapshot } from './view.js';
import { Viewers, eventFrame } from './viewers.js';

export const DEFAULT_PATH = '/bulwark';
export const DEFAULT_INTERVAL_MS = 1_000;
export const DEFAULT_HISTORY_SECONDS = 300;
export const DEFAULT_LATENCY_WINDOW_SECONDS = 10;
export const DEFAULT_MAX_OPERATIONS = 50;
export const DEFAULT_MAX_BREAKERS = 100;
export const DEFAULT_MAX_ENTRIES = 100;
export const DEFAULT_MAX_VIEWERS = 256;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

/** One or more segments: the page never owns the root, nor a path with a query or a dot-segment. */
const PATH = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/;
const OPTIONS = [
  'path',
  'authorize',
  'title',
  'intervalMs',
  'historySeconds',
  'latencyWindowSeconds',
  'maxOperations',
  'maxBreakers',
  'maxEntries',
  'maxViewers',
  'maxBufferedBytes',
  'clock',
];

/** What `authorize` is given: the request for the page, its stream or its files. */
export interface AuthorizeArgs {
  readonly request: IncomingMessage;
}

export interface DashboardOptions {
  /** Where the page is served; its stream and files are under it. Default `/bulwark`. */
  path?: string;
  /**
   * Decides who may see the page (a session, a token, an address you trust). Without it, only
   * requests from the loopback address that no proxy forwarded are let in.
   */
  authorize?: (args: AuthorizeArgs) => boolean | Promise<boolean>;
  /** The page's heading. Default `Bulwark`. */
  title?: string;
  /** How often the page updates, in ms. Default 1000. */
  intervalMs?: number;
  /** How far back the charts go, in seconds. Default 300. */
  historySeconds?: number;
  /** The window of the latency percentiles and of the sparse rates, in seconds. Default 10. */
  latencyWindowSeconds?: number;
  /** Rows of the operations table; further operations are counted under "other". Default 50. */
  maxOperations?: number;
  /** Breakers shown; further ones are counted, not shown. Default 100. */
  maxBreakers?: number;
  /** Bulkheads, retry budgets, health checks and endpoints shown, each. Default 100. */
  maxEntries?: number;
  /** Open event streams; further pages get a 503 until one closes. Default 256. */
  maxViewers?: number;
  /** Bytes a viewer may leave unread before it is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Time for the ticks and the durations shown. Default: the system clock. */
  clock?: Clock;
}

export interface ObserveBulkheadOptions {
  /** The bulkhead's `name` option, to match its events. */
  name: string;
}

export interface ObserveRetryBudgetOptions {
  /** The name the page shows. */
  name: string;
}

export interface ObserveBreakersOptions {
  /** The breakers' policy name. Default: each view's `name`, else `circuit-breaker`. */
  name?: string;
}

/** A circuit breaker (its `view()`), or a registry of breakers (`views()`). */
export type ObservedBreakerSource =
  { view(): BreakerViewLike } | { views(): readonly BreakerViewLike[] };

export interface ObserveServerOptions {
  /** The prom-client registry the server adapters' `metrics` option records into. */
  registry: MetricsRegistryLike;
  /** Their metrics prefix. Default `bulwark_`. */
  prefix?: string;
}

/** A node:http handler; in Express, middleware (it calls `next` for other paths). */
export type DashboardHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: (error?: unknown) => void,
) => boolean;

/**
 * A telemetry listener that keeps what a live page shows, and serves that page. Give it to
 * pipelines and policies like the Prometheus listener (or both, with `combineListeners`).
 */
export interface DashboardListener extends DashboardEventListener {
  /**
   * Serves the page, its event stream and its files under `path`, and returns true; for any
   * other path returns false (and calls `next`, when given, as Express middleware does).
   */
  readonly handle: DashboardHandler;
  readonly path: string;
  /** Reads a bulkhead's in-use, queued and limit at every tick. Returns a function that stops. */
  observeBulkhead(bulkhead: ObservedBulkheadLike, options: ObserveBulkheadOptions): () => void;
  /** Reads a retry budget's retries left at every tick. Returns a function that stops. */
  observeRetryBudget(
    budget: ObservedRetryBudgetLike,
    options: ObserveRetryBudgetOptions,
  ): () => void;
  /** Reads breakers' views at every tick: the time until an open breaker's trial. */
  observeBreakers(source: ObservedBreakerSource, options?: ObserveBreakersOptions): () => void;
  /** Reads the server adapters' metrics (in flight, queued, shed, rate-limited) at every tick. */
  observeServer(options: ObserveServerOptions): () => void;
  /** The latest snapshot: what every viewer was last sent. */
  snapshot(): Snapshot;
  /** Open event streams. */
  readonly viewers: number;
  /** Stops the ticks and ends every stream. */
  close(): void;
}

const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;
const FORWARDED = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

/**
 * The loopback rule: a request from this machine that no proxy forwarded. Behind a proxy on the
 * same host every request arrives from loopback, so a forwarded one is not let in by this rule.
 */
export function isLocalRequest(request: IncomingMessage): boolean {
  const address = request.socket?.remoteAddress;
  if (address === undefined || !LOOPBACK.test(address)) return false;
  return FORWARDED.every((name) => request.headers[name] === undefined);
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/**
 * A telemetry listener that feeds a live, read-only page of what Bulwark is doing: per operation,
 * calls, success, latency percentiles and their history, breaker states, retries, hedges,
 * rejections and the cache; bulkheads, retry budgets, health checks and the server's shedding
 * and idempotency. One snapshot is computed per tick and sent to every viewer over Server-Sent
 * Events. The page is off until the application mounts `handle`.
 *
 * @example
 * const dashboard = dashboardListener();
 * const listener = combineListeners(prometheusListener(), dashboard);
 * createServer((req, res) => dashboard.handle(req, res) || app(req, res));
 */
export function dashboardListener(options: DashboardOptions = {}): DashboardListener {
  checkOptionsObject('dashboardListener', options);
  checkKnownOptions('dashboardListener', options, OPTIONS);
  const path = options.path ?? DEFAULT_PATH;
  if (typeof path !== 'string' || !PATH.test(path) || path.length > 200) {
    throw new TypeError(
      `expected path to be an absolute URL path without a trailing slash (such as "/bulwark"), got ${describeValue(path)}`,
    );
  }
  if (options.authorize !== undefined) checkFunction('authorize', options.authorize);
  const title = options.title ?? 'Bulwark';
  checkString('title', title, 100);
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  checkInteger('intervalMs', intervalMs, 100, 60_000);
  const historySeconds = options.historySeconds ?? DEFAULT_HISTORY_SECONDS;
  checkInteger('historySeconds', historySeconds, 1, 86_400);
  const windowSeconds = options.latencyWindowSeconds ?? DEFAULT_LATENCY_WINDOW_SECONDS;
  checkInteger('latencyWindowSeconds', windowSeconds, 1, 3_600);
  const maxOperations = options.maxOperations ?? DEFAULT_MAX_OPERATIONS;
  checkInteger('maxOperations', maxOperations, 1, 1_000);
  const maxBreakers = options.maxBreakers ?? DEFAULT_MAX_BREAKERS;
  checkInteger('maxBreakers', maxBreakers, 1, 10_000);
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  checkInteger('maxEntries', maxEntries, 1, 10_000);
  const maxViewers = options.maxViewers ?? DEFAULT_MAX_VIEWERS;
  checkInteger('maxViewers', maxViewers, 1, 10_000);
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  checkInteger('maxBufferedBytes', maxBufferedBytes, 1024, 256 * 1024 * 1024);
  if (options.clock !== undefined) checkClock(options.clock);
  const historyPoints = Math.ceil((historySeconds * 1_000) / intervalMs);
  if (historyPoints > 10_000) {
    throw new RangeError(
      `expected historySeconds / intervalMs to keep at most 10000 points, got ${historyPoints}`,
    );
  }
  const page = new DashboardPage({
    path,
    authorize: options.authorize,
    title,
    intervalMs,
    clock: options.clock ?? systemClock,
    historyPoints,
    windowTicks: Math.max(1, Math.round((windowSeconds * 1_000) / intervalMs)),
    maxOperations,
    maxBreakers,
    maxEntries,
    maxViewers,
    maxBufferedBytes,
  });
  return page.listener;
}

interface PageSettings {
  readonly path: string;
  readonly authorize: DashboardOptions['authorize'];
  readonly title: string;
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly historyPoints: number;
  readonly windowTicks: number;
  readonly maxOperations: number;
  readonly maxBreakers: number;
  readonly maxEntries: number;
  readonly maxViewers: number;
  readonly maxBufferedBytes: number;
}

/** The board, its ticks, and the page that shows it. */
class DashboardPage {
  readonly listener: DashboardListener;
  private readonly board: Board;
  private readonly viewers: Viewers;
  private readonly assets = new AssetFiles();
  private readonly boot = randomUUID();
  private latest: Snapshot | undefined = undefined;
  /** The full frame of the latest tick, made for the first viewer that needs it. */
  private full: { snapshot: Snapshot; frame: FullFrame; event: Buffer } | undefined = undefined;
  private timer: TimerHandle | undefined = undefined;
  private closed = false;

  constructor(private readonly settings: PageSettings) {
    this.board = new Board(settings, settings.clock);
    this.viewers = new Viewers(settings.maxViewers, settings.maxBufferedBytes);
    const board = this.board;
    const viewers = this.viewers;
    const listener = Object.assign(board.record, {
      [bindSuccess]: board.bindSuccess,
      handle: this.handle,
      path: settings.path,
      observeBulkhead: (bulkhead: ObservedBulkheadLike, o: ObserveBulkheadOptions) =>
        this.observeBulkhead(bulkhead, o),
      observeRetryBudget: (budget: ObservedRetryBudgetLike, o: ObserveRetryBudgetOptions) =>
        this.observeRetryBudget(budget, o),
      observeBreakers: (source: ObservedBreakerSource, o?: ObserveBreakersOptions) =>
        this.observeBreakers(source, o),
      observeServer: (o: ObserveServerOptions) => this.observeServer(o),
      snapshot: () => this.snapshot(),
      close: () => this.close(),
    });
    this.listener = Object.defineProperty(listener, 'viewers', {
      get: () => viewers.size,
      enumerable: true,
    }) as DashboardListener;
    this.schedule();
  }

  private schedule(): void {
    this.timer = unrefTimer(this.settings.clock, () => this.onTick(), this.settings.intervalMs);
  }

  private onTick(): void {
    if (this.closed) return;
    const seconds = this.settings.intervalMs / 1_000;
    this.board.closeTick(seconds);
    this.schedule();
    if (this.board.server.source === undefined) {
      this.publish();
      return;
    }
    this.board.readServer(seconds).then(
      () => this.publish(),
      () => this.publish(),
    );
  }

  /** Computes the tick's snapshot once, and writes it to every viewer. */
  private publish(): void {
    if (this.closed) return;
    const snapshot = this.snapshot(true);
    if (this.viewers.size > 0) this.viewers.broadcast(eventFrame(JSON.stringify(snapshot)));
  }

  private snapshot(refresh = false): Snapshot {
    if (refresh || this.latest === undefined) {
      this.latest = buildSnapshot(this.board, {
        boot: this.boot,
        title: this.settings.title,
        intervalMs: this.settings.intervalMs,
      });
    }
    return this.latest;
  }

  /** The latest snapshot with the charts' history, made once per tick however many ask. */
  private fullFrame(): { frame: FullFrame; event: Buffer } {
    const snapshot = this.snapshot();
    if (this.full === undefined || this.full.snapshot !== snapshot) {
      const frame: FullFrame = {
        snapshot,
        history: buildHistory(this.board),
        historyPoints: this.settings.historyPoints,
      };
      this.full = { snapshot, frame, event: eventFrame(JSON.stringify(frame), 'full') };
    }
    return this.full;
  }

  private readonly handle: DashboardHandler = (request, response, next) => {
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query === -1 ? url : url.slice(0, query);
    const base = this.settings.path;
    const prefix = `${base}/`;
    if (pathname !== base && !pathname.startsWith(prefix)) {
      next?.();
      return false;
    }
    const rest = pathname === base ? '' : pathname.slice(prefix.length);
    void this.serve(request, response, rest);
    return true;
  };

  private async serve(request: IncomingMessage, response: ServerResponse, rest: string) {
    try {
      if (!(await this.allowed(request))) {
        return plain(response, 403, 'Forbidden\n');
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.setHeader('allow', 'GET, HEAD');
        return plain(response, 405, 'Method Not Allowed\n');
      }
      if (rest === '') return this.page(request, response);
      if (rest === 'events') return this.stream(request, response);
      if (rest.startsWith('assets/')) {
        const asset = await this.assets.get(rest.slice('assets/'.length));
        if (asset !== undefined) {
          response.writeHead(200, {
            'content-type': asset.type,
            'content-length': asset.body.length,
            'cache-control': 'private, max-age=300',
            'x-content-type-options': 'nosniff',
          });
          response.end(request.method === 'HEAD' ? undefined : asset.body);
          return;
        }
      }
      return plain(response, 404, 'Not Found\n');
    } catch {
      // Nothing about the failure goes to the client: it may be anyone.
      if (!response.headersSent) plain(response, 500, 'Internal Server Error\n');
      else response.destroy();
    }
  }

  private async allowed(request: IncomingMessage): Promise<boolean> {
    const authorize = this.settings.authorize;
    if (authorize === undefined) return isLocalRequest(request);
    try {
      return (await authorize({ request })) === true;
    } catch {
      // A hook that fails lets no one in.
      return false;
    }
  }

  private page(request: IncomingMessage, response: ServerResponse): void {
    const html = Buffer.from(renderPage(this.settings.path, this.fullFrame().frame));
    response.writeHead(200, { ...PAGE_HEADERS, 'content-length': html.length });
    response.end(request.method === 'HEAD' ? undefined : html);
  }

  private stream(request: IncomingMessage, response: ServerResponse): void {
    if (this.closed) return plain(response, 503, 'Service Unavailable\n');
    if (request.method === 'HEAD') {
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      response.end();
      return;
    }
    if (!this.viewers.join(response, this.fullFrame().event)) {
      response.setHeader('retry-after', '5');
      plain(response, 503, 'Too many viewers\n');
    }
  }

  private observeBulkhead(bulkhead: ObservedBulkheadLike, options: ObserveBulkheadOptions) {
    const b = bulkhead as Partial<ObservedBulkheadLike> | null;
    if (
      typeof b !== 'object' ||
      b === null ||
      typeof b.active !== 'number' ||
      typeof b.queued !== 'number' ||
      typeof b.limit !== 'number'
    ) {
      throw new TypeError(
        `expected bulkhead to have numeric active, queued and limit, got ${describeValue(bulkhead)}`,
      );
    }
    checkOptionsObject('observeBulkhead', options);
    checkKnownOptions('observeBulkhead', options, ['name']);
    checkString('name', options.name);
    return this.board.observeBulkhead(bulkhead, options.name);
  }

  private observeRetryBudget(budget: ObservedRetryBudgetLike, options: ObserveRetryBudgetOptions) {
    const b = budget as Partial<ObservedRetryBudgetLike> | null;
    if (typeof b !== 'object' || b === null || typeof b.available !== 'number') {
      throw new TypeError(
        `expected budget to be a retry budget (with a numeric available), got ${describeValue(budget)}`,
      );
    }
    checkOptionsObject('observeRetryBudget', options);
    checkKnownOptions('observeRetryBudget', options, ['name']);
    checkString('name', options.name);
    return this.board.observeRetryBudget(budget, options.name);
  }

  private observeBreakers(source: ObservedBreakerSource, options: ObserveBreakersOptions = {}) {
    checkOptionsObject('observeBreakers', options);
    checkKnownOptions('observeBreakers', options, ['name']);
    if (options.name !== undefined) checkString('name', options.name);
    const s = source as { view?: unknown; views?: unknown } | null;
    if (typeof s === 'object' && s !== null && typeof s.views === 'function') {
      const registry = source as { views(): readonly BreakerViewLike[] };
      return this.board.observeBreakers(() => registry.views(), options.name);
    }
    if (typeof s === 'object' && s !== null && typeof s.view === 'function') {
      const breaker = source as { view(): BreakerViewLike };
      return this.board.observeBreakers(() => [breaker.view()], options.name);
    }
    throw new TypeError(
      `expected a circuit breaker (with view()) or a breaker registry (with views()), got ${describeValue(source)}`,
    );
  }

  private observeServer(options: ObserveServerOptions): () => void {
    checkOptionsObject('observeServer', options);
    checkKnownOptions('observeServer', options, ['registry', 'prefix']);
    const registry = options.registry as Partial<MetricsRegistryLike> | null | undefined;
    if (
      typeof registry !== 'object' ||
      registry === null ||
      typeof registry.getSingleMetric !== 'function'
    ) {
      throw new TypeError(
        `expected registry to be a prom-client Registry, got ${describeValue(options.registry)}`,
      );
    }
    const prefix = options.prefix ?? 'bulwark_';
    if (typeof prefix !== 'string') {
      throw new TypeError(`expected prefix to be a string, got ${describeValue(prefix)}`);
    }
    const source = new ServerSource(options.registry, prefix);
    this.board.server.source = source;
    return () => {
      if (this.board.server.source === source) this.board.server.source = undefined;
    };
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.settings.clock.clearTimeout(this.timer);
    this.viewers.closeAll();
  }
}

function plain(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  response.end(body);
}
