import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '@bulwark/core';
import type { Dispatcher } from 'undici';

/**
 * Passes a real response on with each body chunk held `delayMs` on the clock first (chunks
 * split to at most `chunkBytes`), as a server that drips its body would. While chunks wait,
 * the socket is paused, so nothing piles up in memory; the handler's own pause and resume and
 * abort work as on undici's controller, and an abort clears the pending timer at once.
 */
export class SlowBody implements Dispatcher.DispatchHandler, Dispatcher.DispatchController {
  private upstream: Dispatcher.DispatchController | undefined = undefined;
  private queue: Buffer[] = [];
  private timer: TimerHandle | undefined = undefined;
  /** The handler asked for a pause (the socket may also be paused for the queue). */
  private handlerPaused = false;
  /** The trailers, once the real response has ended. */
  private trailers: IncomingHttpHeaders | undefined = undefined;
  private finished = false;

  constructor(
    private readonly handler: Dispatcher.DispatchHandler,
    private readonly clock: Clock,
    private readonly delayMs: number,
    private readonly chunkBytes: number,
  ) {}

  // The controller the handler sees.

  get aborted(): boolean {
    return this.upstream?.aborted ?? false;
  }

  get paused(): boolean {
    return this.handlerPaused;
  }

  get reason(): Error | null {
    return this.upstream?.reason ?? null;
  }

  get rawHeaders(): Dispatcher.DispatchController['rawHeaders'] {
    return this.upstream?.rawHeaders;
  }

  get rawTrailers(): Dispatcher.DispatchController['rawTrailers'] {
    return this.upstream?.rawTrailers;
  }

  abort(reason: Error): void {
    this.stop();
    this.upstream?.abort(reason);
  }

  pause(): void {
    this.handlerPaused = true;
    this.upstream?.pause();
  }

  resume(): void {
    if (!this.handlerPaused) return;
    this.handlerPaused = false;
    this.drain();
  }

  // The handler undici calls.

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.upstream = controller;
    this.handler.onRequestStart?.(this, context);
  }

  onRequestUpgrade(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    this.handler.onRequestUpgrade?.(this, statusCode, headers, socket);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    this.handler.onResponseStart?.(this, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.finished) return;
    for (let start = 0; start < chunk.length; start += this.chunkBytes) {
      this.queue.push(chunk.subarray(start, start + this.chunkBytes));
    }
    controller.pause();
    this.schedule();
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.trailers = trailers;
    if (this.queue.length === 0 && this.timer === undefined) this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.finished) return;
    this.stop();
    this.finished = true;
    this.handler.onResponseError?.(this, error);
  }

  private schedule(): void {
    if (this.timer !== undefined || this.handlerPaused || this.queue.length === 0) return;
    this.timer = this.clock.setTimeout(this.release, this.delayMs);
  }

  private readonly release = (): void => {
    this.timer = undefined;
    const chunk = this.queue.shift();
    if (chunk === undefined || this.finished) return;
    this.handler.onResponseData?.(this, chunk);
    this.drain();
  };

  /** Moves on after a chunk went out or the handler resumed: the next chunk, the end, or more from the socket. */
  private drain(): void {
    if (this.finished || this.aborted) return;
    if (this.queue.length > 0) this.schedule();
    else if (this.trailers !== undefined) this.finish();
    else if (!this.handlerPaused) this.upstream?.resume();
  }

  private finish(): void {
    this.finished = true;
    this.handler.onResponseEnd?.(this, this.trailers ?? {});
  }

  private stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
  }
}
