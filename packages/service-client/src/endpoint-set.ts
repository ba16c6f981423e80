import { Endpoint } from './endpoint.js';

/** What an update changed. */
export interface EndpointChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/**
 * The endpoints the service has now. An update keeps the endpoint objects (their latency,
 * failures and ejections) of the URLs it still lists, adds the new ones and drops the others:
 * a dropped endpoint's calls in flight hold their own reference and finish undisturbed.
 */
export class EndpointSet {
  /** The endpoints, in the order their source gave them. */
  endpoints: readonly Endpoint[] = [];
  /** True once a list has been read: until then calls wait for {@link EndpointSet.ready}. */
  known = false;
  /** Why the last read failed, while none ever succeeded: the cause calls fail with. */
  lastError: unknown = undefined;
  /** Settles after the first read, whether it found endpoints or failed. */
  readonly ready: Promise<void>;
  private settleReady!: () => void;
  private readonly byUrl = new Map<string, Endpoint>();

  constructor(
    /** Called for each endpoint as it joins (the client gives it its breaker). */
    private readonly joined: (endpoint: Endpoint) => void,
  ) {
    this.ready = new Promise((resolve) => (this.settleReady = resolve));
  }

  get size(): number {
    return this.endpoints.length;
  }

  /** Makes `urls` (normalized, without duplicates) the endpoints. */
  replace(urls: readonly string[], origins: readonly string[], now: number): EndpointChanges {
    const next: Endpoint[] = [];
    const added: string[] = [];
    const kept = new Set<string>();
    urls.forEach((url, i) => {
      let endpoint = this.byUrl.get(url);
      if (endpoint === undefined) {
        endpoint = new Endpoint(url, origins[i]!, now);
        this.byUrl.set(url, endpoint);
        this.joined(endpoint);
        added.push(url);
      }
      kept.add(url);
      next.push(endpoint);
    });
    const removed: string[] = [];
    for (const url of this.byUrl.keys()) {
      if (!kept.has(url)) {
        this.byUrl.delete(url);
        removed.push(url);
      }
    }
    this.endpoints = next;
    this.known = true;
    this.lastError = undefined;
    this.settleReady();
    return { added, removed };
  }

  /** A read failed: the endpoints stay as they were; the first read's failure settles `ready`. */
  failed(error: unknown): void {
    if (!this.known) this.lastError = error;
    this.settleReady();
  }

  /** The endpoint of `url`, if the service has it now. */
  get(url: string): Endpoint | undefined {
    return this.byUrl.get(url);
  }
}
