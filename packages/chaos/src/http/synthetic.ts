import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/** What a made-up answer is: a response, or a connection that breaks before any response. */
export type SyntheticAnswer =
  | {
      readonly status: number;
      readonly statusText: string;
      readonly headers: IncomingHttpHeaders;
      /** Undefined for none (and for a HEAD request). */
      readonly body: Buffer | undefined;
    }
  | { readonly error: () => Error };

const NO_TRAILERS: IncomingHttpHeaders = Object.freeze({});

/**
 * An exchange that never reaches the network: it plays the handler the answer undici would
 * have, through the same controller-style calls (start, response start, data, end, or error),
 * and honours the handler's pause, resume and abort as undici's controller does.
 */
export class SyntheticExchange implements Dispatcher.DispatchController {
  private abortReason: Error | null = null;
  private isPaused = false;
  /** True while a handler callback runs: what it does to the controller is looked at after it. */
  private delivering = false;
  private bodySent = false;
  private done = false;

  constructor(
    private readonly handler: Dispatcher.DispatchHandler,
    private readonly answer: SyntheticAnswer,
  ) {}

  get aborted(): boolean {
    return this.abortReason !== null;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  get reason(): Error | null {
    return this.abortReason;
  }

  /** Plays the answer, a tick later: undici never calls a handler before `dispatch()` returns. */
  start(): void {
    queueMicrotask(() => this.begin());
  }

  abort(reason: Error): void {
    if (this.done || this.abortReason !== null) return;
    this.abortReason = reason;
    // Outside a callback (a paused body, a timeout), nothing else would tell the handler.
    if (!this.delivering) queueMicrotask(() => this.failIfAborted());
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    if (!this.delivering) queueMicrotask(() => this.sendBody());
  }

  private begin(): void {
    this.delivering = true;
    this.handler.onRequestStart?.(this, {});
    this.delivering = false;
    if (this.failIfAborted()) return;
    const answer = this.answer;
    if ('error' in answer) {
      this.done = true;
      this.handler.onResponseError?.(this, answer.error());
      return;
    }
    this.delivering = true;
    this.handler.onResponseStart?.(this, answer.status, answer.headers, answer.statusText);
    this.delivering = false;
    this.sendBody();
  }

  private sendBody(): void {
    if (this.done || this.failIfAborted() || this.isPaused) return;
    const answer = this.answer;
    if ('error' in answer) return;
    if (answer.body !== undefined && !this.bodySent) {
      this.bodySent = true;
      this.delivering = true;
      this.handler.onResponseData?.(this, answer.body);
      this.delivering = false;
      if (this.failIfAborted() || this.isPaused) return;
    }
    this.done = true;
    this.handler.onResponseEnd?.(this, NO_TRAILERS);
  }

  /** Tells the handler of its own abort, once, as undici does; true when it did. */
  private failIfAborted(): boolean {
    const reason = this.abortReason;
    if (reason === null) return false;
    if (this.done) return true;
    this.done = true;
    this.handler.onResponseError?.(this, reason);
    return true;
  }
}
