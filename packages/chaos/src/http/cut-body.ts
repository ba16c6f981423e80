import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';

/**
 * Passes a real response on until `afterBytes` of its body have gone through, then breaks it:
 * the connection is aborted (so the socket is dropped, as a broken one would be) and the handler
 * gets `error()` after the headers, as from a connection that reset or closed mid-body. A body
 * shorter than that is cut at its end: the handler gets every byte, then the error.
 *
 * The break comes a turn of the event loop after the last byte passed, as a reset or a close
 * reaches a real client: in an event of its own, after the one that carried the bytes. Breaking
 * in the same turn would fail a streamed body before its reader could have attached to it.
 */
export class CutBody implements Dispatcher.DispatchHandler {
  private passed = 0;
  /** The break is decided: what more the connection brings is dropped. */
  private breaking = false;
  /** The handler has been told of the break. */
  private cut = false;
  /** The whole response came in: there is no connection left to drop. */
  private ended = false;
  private pending: ReturnType<typeof setImmediate> | undefined = undefined;

  constructor(
    private readonly handler: Dispatcher.DispatchHandler,
    private readonly afterBytes: number,
    private readonly error: () => Error,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    this.handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
    // 1xx answers come before the real one, which is the one to cut.
    if (statusCode >= 200 && this.afterBytes === 0) this.breakSoon(controller);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.breaking) return;
    const room = this.afterBytes - this.passed;
    if (chunk.length < room) {
      this.passed += chunk.length;
      this.handler.onResponseData?.(controller, chunk);
      return;
    }
    this.passed += room;
    if (room > 0) this.handler.onResponseData?.(controller, chunk.subarray(0, room));
    this.breakSoon(controller);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, _trailers: IncomingHttpHeaders): void {
    // The whole response is in: the connection is sound, only the handler hears of a break.
    this.ended = true;
    this.breakSoon(controller);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    // After the cut, this is undici reporting the abort that made it: the handler knows already.
    if (this.cut) return;
    this.cancelBreak();
    this.handler.onResponseError?.(controller, error);
  }

  private breakSoon(controller: Dispatcher.DispatchController): void {
    if (this.breaking) return;
    this.breaking = true;
    this.pending = setImmediate(() => this.cutNow(controller));
  }

  private cancelBreak(): void {
    if (this.pending !== undefined) clearImmediate(this.pending);
    this.pending = undefined;
  }

  private cutNow(controller: Dispatcher.DispatchController): void {
    this.pending = undefined;
    // The handler gave up on the response itself (a body limit, a timeout): its reason stands.
    if (controller.aborted || this.cut) return;
    this.cut = true;
    const error = this.error();
    if (!this.ended) controller.abort(error);
    this.handler.onResponseError?.(controller, error);
  }
}
