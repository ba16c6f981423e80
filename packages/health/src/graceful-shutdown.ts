import { type Clock, systemClock } from '@bulwark/core';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownOptions,
  checkOptionsObject,
  optionNames,
  unrefTimer,
} from '@bulwark/core/internal';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type HealthListener, type ShutdownEvent, emitHealth } from './events.js';
import type { ShutdownAware } from './health-registry.js';

/**
 * How long readiness fails before the server stops accepting: load balancers and Kubernetes
 * endpoints take a few probe periods to stop sending new requests.
 */
export const DEFAULT_READINESS_DELAY_MS = 5_000;
/** How long in-flight requests get to finish before their connections are destroyed. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_SIGNALS: readonly string[] = ['SIGTERM'];

/** The part of a Node HTTP(S) server graceful shutdown uses; `http.Server` has it. */
export interface ShutdownServer {
  close(callback?: (error?: Error) => void): unknown;
  /** Node >= 18.2: closes keep-alive connections that carry no request. */
  closeIdleConnections?(): void;
  /** Node >= 18.2: destroys every connection, used when the drain timeout elapses. */
  closeAllConnections?(): void;
  on(event: 'request', listener: (req: IncomingMessage, res: ServerResponse) => void): unknown;
  off(event: 'request', listener: (req: IncomingMessage, res: ServerResponse) => void): unknown;
}

/** Where termination signals come from: `process` by default; tests pass an EventEmitter. */
export interface SignalSource {
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

export interface ShutdownArgs {
  /** The signal, or the reason given to `shutdown()`. */
  readonly reason: string;
  /** True when the drain timeout elapsed and connections were destroyed. */
  readonly forced: boolean;
}

export interface ShutdownResult extends ShutdownArgs {
  readonly durationMs: number;
  /** What `onShutdown` threw, if it threw. */
  readonly error?: unknown;
}

export interface GracefulShutdownOptions {
  /** The Node HTTP(S) server to drain and close. */
  server: ShutdownServer;
  /** Readiness fails (its `beginShutdown()` is called) as the first step. */
  registry?: ShutdownAware;
  /** How long readiness fails before the server stops accepting. Default 5000 ms. */
  readinessDelayMs?: number;
  /** How long in-flight requests get once the server stops accepting. Default 10000 ms. */
  drainTimeoutMs?: number;
  /** The signals that start a shutdown. Default `['SIGTERM']`. */
  signals?: readonly string[];
  /** Where signals are listened for. Default `process`. */
  signalSource?: SignalSource;
  /**
   * Count requests through the server's `request` event. Default true. Turn off when an adapter
   * counts them itself with `trackRequest()`.
   */
  trackRequests?: boolean;
  /** Closes the server instead of `server.close()`, e.g. `() => fastify.close()`. */
  close?: () => unknown;
  /** Runs after the server has closed: close database pools, flush telemetry, exit. */
  onShutdown?: (args: ShutdownArgs) => void | Promise<void>;
  /** Measures the delays. Default: the system clock. */
  clock?: Clock;
  /** Receives `shutdown` events. */
  listener?: HealthListener;
}

const OPTION_NAMES = optionNames<GracefulShutdownOptions>({
  server: true,
  registry: true,
  readinessDelayMs: true,
  drainTimeoutMs: true,
  signals: true,
  signalSource: true,
  trackRequests: true,
  close: true,
  onShutdown: true,
  clock: true,
  listener: true,
});

export type ShutdownState = 'running' | 'failing-readiness' | 'draining' | 'closed';

export interface GracefulShutdown {
  readonly state: ShutdownState;
  /** Requests being served now. */
  readonly inFlight: number;
  /**
   * Counts one unit of work the drain waits for; call the returned function (once; later calls do
   * nothing) when it ends. For servers whose requests the `request` event does not see.
   */
  trackRequest(): () => void;
  /** Starts the shutdown (as a signal would). Every call returns the same promise. */
  shutdown(reason?: string): Promise<ShutdownResult>;
  /** Stops listening for signals and requests without shutting down. */
  dispose(): void;
}

/** The options of {@link gracefulShutdown}, checked and with the defaults filled in. */
interface ShutdownSettings {
  readonly server: ShutdownServer;
  readonly registry: ShutdownAware | undefined;
  readonly readinessDelayMs: number;
  readonly drainTimeoutMs: number;
  readonly signals: readonly string[];
  readonly signalSource: SignalSource;
  readonly trackRequests: boolean;
  /** Closes the server instead of `server.close()`. */
  readonly closeServer: (() => unknown) | undefined;
  readonly onShutdown: ((args: ShutdownArgs) => void | Promise<void>) | undefined;
  readonly clock: Clock;
  readonly listener: HealthListener | undefined;
}

class Shutdown implements GracefulShutdown {
  state: ShutdownState = 'running';
  private count = 0;
  private readonly responses = new Set<ServerResponse>();
  private readonly signalListeners: Array<[string, () => void]> = [];
  private promise: Promise<ShutdownResult> | undefined = undefined;
  private drained: (() => void) | undefined = undefined;
  private readonly onResponseClose: (this: ServerResponse) => void;
  private readonly server: ShutdownServer;
  private readonly registry: ShutdownAware | undefined;
  private readonly readinessDelayMs: number;
  private readonly drainTimeoutMs: number;
  private readonly signalSource: SignalSource;
  private readonly trackRequests: boolean;
  private readonly closeServer: (() => unknown) | undefined;
  private readonly onShutdown: ((args: ShutdownArgs) => void | Promise<void>) | undefined;
  private readonly clock: Clock;
  private readonly listener: HealthListener | undefined;

  constructor(settings: ShutdownSettings) {
    const { server, signals, signalSource, trackRequests } = settings;
    this.server = server;
    this.registry = settings.registry;
    this.readinessDelayMs = settings.readinessDelayMs;
    this.drainTimeoutMs = settings.drainTimeoutMs;
    this.signalSource = signalSource;
    this.trackRequests = trackRequests;
    this.closeServer = settings.closeServer;
    this.onShutdown = settings.onShutdown;
    this.clock = settings.clock;
    this.listener = settings.listener;
    // One listener shared by every response: `this` is the response that closed.
    const responses = this.responses;
    const ended = (): void => this.ended();
    this.onResponseClose = function (this: ServerResponse) {
      responses.delete(this);
      ended();
    };
    for (const signal of signals) {
      const onSignal = (): void => {
        void this.shutdown(signal);
      };
      this.signalListeners.push([signal, onSignal]);
      signalSource.on(signal, onSignal);
    }
    if (trackRequests) server.on('request', this.onRequest);
  }

  get inFlight(): number {
    return this.count;
  }

  private readonly onRequest = (_req: IncomingMessage, res: ServerResponse): void => {
    this.count++;
    this.responses.add(res);
    // Requests that still arrive on kept-alive connections during the drain close them after.
    if (this.state === 'draining' && !res.headersSent) res.setHeader('connection', 'close');
    res.once('close', this.onResponseClose);
  };

  trackRequest(): () => void {
    this.count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.ended();
    };
  }

  private ended(): void {
    this.count--;
    if (this.state !== 'draining') return;
    // The socket turns idle only after the response's close has been handled.
    setImmediate(() => this.server.closeIdleConnections?.());
    if (this.count === 0) this.drained?.();
  }

  shutdown(reason = 'shutdown'): Promise<ShutdownResult> {
    return (this.promise ??= this.run(reason));
  }

  dispose(): void {
    for (const [signal, listener] of this.signalListeners) this.signalSource.off(signal, listener);
    this.signalListeners.length = 0;
    if (this.trackRequests) this.server.off('request', this.onRequest);
  }

  private report(phase: ShutdownEvent['phase'], reason: string): void {
    if (this.listener !== undefined) {
      emitHealth(this.listener, { type: 'shutdown', phase, reason, inFlight: this.count });
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => unrefTimer(this.clock, resolve, ms));
  }

  private async run(reason: string): Promise<ShutdownResult> {
    const started = this.clock.now();
    this.state = 'failing-readiness';
    this.registry?.beginShutdown();
    this.report('signal', reason);
    if (this.readinessDelayMs > 0) await this.sleep(this.readinessDelayMs);

    this.state = 'draining';
    this.report('closing', reason);
    const closed = this.stopAccepting();
    for (const res of this.responses) {
      if (!res.headersSent) res.setHeader('connection', 'close');
    }
    this.server.closeIdleConnections?.();

    let forced = false;
    if (this.count > 0) {
      await new Promise<void>((resolve) => {
        const timer = unrefTimer(
          this.clock,
          () => {
            forced = true;
            this.report('forced', reason);
            this.server.closeAllConnections?.();
            resolve();
          },
          this.drainTimeoutMs,
        );
        this.drained = () => {
          this.clock.clearTimeout(timer);
          resolve();
        };
      });
      this.drained = undefined;
    }
    await closed;
    this.state = 'closed';
    this.dispose();
    this.report('closed', reason);

    let error: unknown = undefined;
    let failed = false;
    try {
      await this.onShutdown?.({ reason, forced });
    } catch (e: unknown) {
      failed = true;
      error = e;
    }
    const result: ShutdownResult = { reason, forced, durationMs: this.clock.now() - started };
    return failed ? { ...result, error } : result;
  }

  /** Resolves once the server has closed; a server that was not listening counts as closed. */
  private stopAccepting(): Promise<void> {
    if (this.closeServer !== undefined) {
      try {
        return Promise.resolve(this.closeServer()).then(
          () => undefined,
          () => undefined,
        );
      } catch {
        return Promise.resolve();
      }
    }
    return new Promise((resolve) => {
      this.server.close(() => resolve());
    });
  }
}

/**
 * Shuts a Node HTTP server down without dropping requests: on SIGTERM readiness fails first,
 * then after `readinessDelayMs` the server stops accepting, in-flight requests finish (idle
 * keep-alive connections are closed), and after `drainTimeoutMs` whatever is left is destroyed.
 */
export function gracefulShutdown(options: GracefulShutdownOptions): GracefulShutdown {
  checkOptionsObject('gracefulShutdown', options);
  checkKnownOptions('gracefulShutdown', options, OPTION_NAMES);
  const {
    server,
    registry,
    readinessDelayMs = DEFAULT_READINESS_DELAY_MS,
    drainTimeoutMs = DEFAULT_DRAIN_TIMEOUT_MS,
    signals = DEFAULT_SIGNALS,
    signalSource = process,
    trackRequests = true,
    close,
    onShutdown,
    clock = systemClock,
    listener,
  } = options;
  if (
    typeof server !== 'object' ||
    server === null ||
    typeof server.close !== 'function' ||
    typeof server.on !== 'function'
  ) {
    throw new TypeError('expected server to be a Node HTTP server');
  }
  if (registry !== undefined && typeof registry.beginShutdown !== 'function') {
    throw new TypeError('expected registry to have a beginShutdown() method');
  }
  checkInteger('readinessDelayMs', readinessDelayMs, 0);
  checkInteger('drainTimeoutMs', drainTimeoutMs, 0);
  if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string' || s === '')) {
    throw new TypeError('expected signals to be an array of signal names');
  }
  if (
    typeof signalSource !== 'object' ||
    signalSource === null ||
    typeof signalSource.on !== 'function' ||
    typeof signalSource.off !== 'function'
  ) {
    throw new TypeError('expected signalSource to have on() and off() methods');
  }
  checkBoolean('trackRequests', trackRequests);
  if (close !== undefined) checkFunction('close', close);
  if (onShutdown !== undefined) checkFunction('onShutdown', onShutdown);
  if (listener !== undefined) checkFunction('listener', listener);
  return new Shutdown({
    server,
    registry,
    readinessDelayMs,
    drainTimeoutMs,
    signals,
    signalSource,
    trackRequests,
    closeServer: close,
    onShutdown,
    clock,
    listener,
  });
}
