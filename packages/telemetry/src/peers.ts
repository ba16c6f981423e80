import { createRequire } from 'node:module';
import type * as OpenTelemetryApiModule from '@opentelemetry/api';
import type * as PromClientModule from 'prom-client';

/**
 * prom-client and @opentelemetry/api are optional peers: an application that wants only
 * metrics need not install the tracing API, and the other way round. So each is loaded when a
 * factory first needs it, not when this package is imported. In Node both resolve to the same
 * CommonJS build an application's own `import` gets, so the instances (and OTel's global
 * registrations) are shared.
 */
const require = createRequire(import.meta.url);

export type OpenTelemetryApi = typeof OpenTelemetryApiModule;
export type PromClient = typeof PromClientModule;

let otel: OpenTelemetryApi | undefined;
let prom: PromClient | undefined;

/** Exported for tests. */
export function loadPeer<T>(name: string, caller: string): T {
  try {
    return require(name) as T;
  } catch (error: unknown) {
    throw new Error(`${caller}() needs the optional peer dependency ${name}: npm install ${name}`, {
      cause: error,
    });
  }
}

export function openTelemetryApi(caller: string): OpenTelemetryApi {
  return (otel ??= loadPeer<OpenTelemetryApi>('@opentelemetry/api', caller));
}

export function promClient(caller: string): PromClient {
  return (prom ??= loadPeer<PromClient>('prom-client', caller));
}
