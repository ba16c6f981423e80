import type { Clock, TimerHandle } from '@bulwark/core';
import { unrefTimer } from '@bulwark/core/internal';
import {
  type EndpointAddress,
  type EndpointSink,
  type EndpointSource,
  distinct,
  parseEndpoint,
} from './source.js';

/** What an endpoints function is given. */
export interface EndpointsFnArgs {
  /** Aborts when the client closes: pass it to whatever the function waits on. */
  readonly signal: AbortSignal;
}

/** Returns the service's endpoints now: read at start, then every `refreshMs`. */
export type EndpointsFn = (
  args: EndpointsFnArgs,
) => readonly (string | URL)[] | PromiseLike<readonly (string | URL)[]>;

/** After a failed read, the next comes sooner: from this, doubling up to the refresh interval. */
const FIRST_RETRY_MS = 1_000;

/**
 * Endpoints from a function of yours (a service registry, a config service), called at start
 * and every `refreshMs`. A failed call, or an answer that is not a list of URLs, keeps the
 * endpoints known so far, and the function is called again sooner (1 s, doubling).
 */
export class FunctionSource implements EndpointSource {
  private timer: TimerHandle | undefined = undefined;
  private closed = false;
  private failures = 0;
  private readonly controller = new AbortController();

  constructor(
    private readonly fn: EndpointsFn,
    private readonly refreshMs: number,
    private readonly clock: Clock,
  ) {}

  start(sink: EndpointSink): void {
    void this.read(sink);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.controller.abort(new Error('the service client closed'));
  }

  private async read(sink: EndpointSink): Promise<void> {
    this.timer = undefined;
    let endpoints: EndpointAddress[];
    try {
      endpoints = parseAll(await this.fn({ signal: this.controller.signal }));
    } catch (error: unknown) {
      if (this.closed) return;
      this.failures++;
      sink.failed(error);
      this.schedule(sink, Math.min(this.refreshMs, FIRST_RETRY_MS * 2 ** (this.failures - 1)));
      return;
    }
    if (this.closed) return;
    this.failures = 0;
    sink.update(endpoints);
    this.schedule(sink, this.refreshMs);
  }

  private schedule(sink: EndpointSink, ms: number): void {
    this.timer = unrefTimer(this.clock, () => void this.read(sink), ms);
  }
}

function parseAll(value: unknown): EndpointAddress[] {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `expected the endpoints function to return an array of URLs, got ${value === null ? 'null' : typeof value}`,
    );
  }
  return distinct(value.map((item: unknown, i) => parseEndpoint(item, `endpoints()[${i}]`)));
}
