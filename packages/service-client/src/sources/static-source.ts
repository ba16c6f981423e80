import type { EndpointAddress, EndpointSink, EndpointSource } from './source.js';

/** A fixed list of endpoints, checked when the client is built. */
export class StaticSource implements EndpointSource {
  constructor(private readonly endpoints: readonly EndpointAddress[]) {}

  start(sink: EndpointSink): void {
    sink.update(this.endpoints);
  }

  close(): void {
    // Nothing scheduled, nothing to stop.
  }
}
