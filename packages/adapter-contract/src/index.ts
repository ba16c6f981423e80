import { describe } from 'vitest';
import type { AdapterUnderTest } from './adapter.js';
import { correlationContract, deadlineContract } from './correlation.js';
import { errorsContract } from './errors.js';
import { Harness } from './harness.js';
import { healthContract } from './health.js';
import { idempotencyContract } from './idempotency.js';
import { metricsContract } from './metrics.js';
import { rateLimitContract } from './rate-limit.js';
import { sheddingContract } from './shedding.js';

export type {
  AdapterUnderTest,
  ContractOptions,
  ContractReply,
  ContractRequest,
  ContractRoute,
  FrameworkRequest,
  RunningApp,
  StartSettings,
} from './adapter.js';

/**
 * The behaviour every server adapter shares, as one vitest suite over real sockets: call it from
 * a test file of the adapter's package with a descriptor that serves the contract's routes
 * behind the adapter.
 *
 * @example
 * describeAdapterContract({ name: 'express', start: async (options, settings) => ... });
 */
export function describeAdapterContract(adapter: AdapterUnderTest): void {
  describe(`the adapter contract, for ${adapter.name}`, () => {
    const h = new Harness(adapter);
    correlationContract(h);
    deadlineContract(h);
    healthContract(h);
    sheddingContract(h);
    metricsContract(h);
    errorsContract(h);
    idempotencyContract(h);
    rateLimitContract(h);
  });
}
