import type { IncomingHttpHeaders, Server } from 'node:http';
import type { RequestContext } from '@bulwark/correlation';
import type { BulwarkOptions } from '@bulwark/server';
import type { PressureProbe } from '@bulwark/server/internal';

/**
 * The part of a framework's request that `identity` callbacks in the contract read: Express's
 * and Fastify's requests both have it, so options written against it suit either adapter.
 */
export interface FrameworkRequest {
  readonly headers: IncomingHttpHeaders;
}

/** Bulwark's options, as the contract writes them for any adapter. */
export type ContractOptions = BulwarkOptions<FrameworkRequest>;

/** What a contract route's handler is told of its request, in every framework alike. */
export interface ContractRequest {
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** The parsed body (JSON bodies are parsed before Bulwark runs, as idempotency needs). */
  readonly body: unknown;
  /** The framework's `bulwark` property of the request; undefined when it has none. */
  readonly bulwark: RequestContext | undefined;
}

/** What a handler answers: a string as text, anything else but undefined as JSON. */
export interface ContractReply {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** A route of the application under test. A handler that throws fails its request. */
export interface ContractRoute {
  readonly method: 'GET' | 'POST';
  /** A path template with `:params`, as both frameworks write them. */
  readonly path: string;
  /** Mounts the route under this prefix: an Express router, a Fastify plugin with `prefix`. */
  readonly prefix?: string;
  readonly handler: (request: ContractRequest) => ContractReply | Promise<ContractReply>;
}

/** How the application around Bulwark is set up, beyond Bulwark's own options. */
export interface StartSettings {
  readonly routes?: readonly ContractRoute[];
  /** Whether the adapter's error handler answers Bulwark's errors. Default true. */
  readonly errorHandler?: boolean;
  /** Node's limit on the request head, in bytes. Default Node's. */
  readonly maxHeaderSize?: number;
  /** Builds the stack with this probe instead of measuring the process. */
  readonly probe?: PressureProbe;
}

/** An application listening on 127.0.0.1, behind the adapter under test. */
export interface RunningApp {
  readonly url: string;
  readonly server: Server;
  /**
   * Resolves once Bulwark has seen `count` responses end, finished or abandoned by their client,
   * and has released what each held.
   */
  ended(count: number): Promise<void>;
  /** The framework's own way to close the app, when it is more than `server.close()`. */
  readonly shutdown: (() => Promise<void>) | undefined;
  /** Closes the app, its connections and Bulwark's stack. */
  close(): Promise<void>;
}

/** A server adapter, as the contract suite drives it. */
export interface AdapterUnderTest {
  /** Shown in the suite's name. */
  readonly name: string;
  /** Serves `settings.routes` behind Bulwark built from `options`; rejects on bad options. */
  start(options: ContractOptions, settings?: StartSettings): Promise<RunningApp>;
}
