import type { IdempotencyOptions as CoreIdempotencyOptions } from '@bulwark/idempotency';

/**
 * `@bulwark/idempotency`'s options (store, methods, required, ttlMs, lockTimeoutMs, maxKeyLength,
 * replayHeaders, shouldStore, listener), plus who the caller is. The clock is Bulwark's `clock`.
 */
export interface IdempotencyOptions<Req = unknown> extends Omit<CoreIdempotencyOptions, 'clock'> {
  /**
   * Who is calling (the authenticated user or API client), from the framework's request. Keys are
   * scoped to it, so two callers that pick the same key never see each other's response; requests
   * for which it returns undefined share one anonymous namespace. Required: pass `'shared'` to
   * put every caller in one namespace on purpose (a service whose only caller is itself).
   */
  identity: ((args: { readonly request: Req }) => string | undefined) | 'shared';
}
