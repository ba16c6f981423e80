import { createRequire } from 'node:module';
import type { PrometheusRegistry } from '@bulwark/telemetry';

/**
 * prom-client is an optional peer: it is loaded only when metrics are asked for without a
 * registry, and then resolves to the same CommonJS instance the application's own import gets.
 */
const require = createRequire(import.meta.url);

export function defaultPromRegistry(): PrometheusRegistry {
  try {
    return (require('prom-client') as { register: PrometheusRegistry }).register;
  } catch (error: unknown) {
    throw new Error(
      'metrics without a registry need the optional peer dependency prom-client: npm install prom-client',
      { cause: error },
    );
  }
}
