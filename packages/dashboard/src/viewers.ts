import type { ServerResponse } from 'node:http';

/** Server-Sent Events headers: no caching, and no proxy buffering that would hold the ticks. */
const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
};

/** How soon a page reconnects after the stream breaks (the service restarted), in ms. */
export const RECONNECT_MS = 1_000;

/**
 * The open event streams. Every tick's frame is one buffer, written to each of them: no copy per
 * viewer. A viewer whose socket has not taken what was written before (more than
 * `maxBufferedBytes` queued) is dropped rather than buffered for: its page reconnects and starts
 * again from a full frame.
 */
export class Viewers {
  private readonly open = new Set<ServerResponse>();
  /** Viewers dropped for reading too slowly, since the start. */
  dropped = 0;

  constructor(
    private readonly maxViewers: number,
    private readonly maxBufferedBytes: number,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** Starts a stream with `first` (the full frame); false when the page has its maximum viewers. */
  join(response: ServerResponse, first: Buffer): boolean {
    if (this.open.size >= this.maxViewers) return false;
    response.writeHead(200, STREAM_HEADERS);
    response.write(`retry: ${RECONNECT_MS}\n\n`);
    response.write(first);
    this.open.add(response);
    response.once('close', () => this.open.delete(response));
    return true;
  }

  broadcast(frame: Buffer): void {
    for (const response of this.open) {
      if (response.writableLength > this.maxBufferedBytes) {
        this.dropped++;
        this.open.delete(response);
        response.destroy();
        continue;
      }
      response.write(frame);
    }
  }

  closeAll(): void {
    for (const response of this.open) response.end();
    this.open.clear();
  }
}

/** One Server-Sent Event: JSON has no raw line break, so one `data:` line carries it. */
export function eventFrame(json: string, event?: string): Buffer {
  return Buffer.from(
    event === undefined ? `data: ${json}\n\n` : `event: ${event}\ndata: ${json}\n\n`,
  );
}
