import type { ExecutionContext } from '@bulwark/core';
import { checkInteger, checkOptionsObject } from '@bulwark/core/internal';

/** Bulwark's own header: the caller's remaining budget as whole milliseconds. */
export const DEFAULT_BUDGET_HEADER = 'x-bulwark-timeout-ms';
/** gRPC's deadline header: 1 to 8 digits and a unit (H, M, S, m, u, n). */
export const GRPC_TIMEOUT_HEADER = 'grpc-timeout';
/** Envoy's expected request timeout, in milliseconds. */
export const ENVOY_TIMEOUT_HEADER = 'x-envoy-expected-rq-timeout-ms';
/** Budgets above this are not believed: they are capped to it (5 minutes). */
export const DEFAULT_MAX_BUDGET_MS = 300_000;

// Longer values are never valid milliseconds counts and are not worth parsing.
const MAX_DIGITS = 12;
const MS_PER_GRPC_UNIT: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** Headers as Node (`IncomingHttpHeaders`), undici (`Record<string, string | string[]>`) or fetch (`Headers`) give them. */
export type HeaderSource =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface ReadBudgetOptions {
  /** The header carrying milliseconds. Default: `x-bulwark-timeout-ms`. */
  header?: string;
  /** Budgets above this are capped to it. Default: 300 000 (5 minutes). */
  maxMs?: number;
  /** Also read `grpc-timeout` and `x-envoy-expected-rq-timeout-ms`. Default: true. */
  fallbacks?: boolean;
}

function headerValue(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const value = (headers as { get(name: string): string | null | undefined }).get(name);
    return value ?? undefined;
  }
  const value = (headers as Record<string, string | readonly string[] | undefined>)[name];
  // A repeated deadline header is ambiguous: believe neither copy.
  return typeof value === 'string' ? value : undefined;
}

/** Whole milliseconds, digits only: no sign, no fraction, no exponent, no spaces inside. */
export function parseMillis(value: string): number | undefined {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_DIGITS || !/^\d+$/.test(trimmed))
    return undefined;
  return Number(trimmed);
}

/** A `grpc-timeout` value (`100m`, `5S`, ...) in milliseconds, or undefined when malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value.trim());
  if (match === null) return undefined;
  return Number(match[1]) * MS_PER_GRPC_UNIT[match[2]!]!;
}

/** Milliseconds as a `grpc-timeout` value: whole milliseconds, or a coarser unit when too long for 8 digits. */
export function formatGrpcTimeout(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 100_000_000) return `${whole}m`;
  const seconds = Math.ceil(whole / 1000);
  if (seconds < 100_000_000) return `${seconds}S`;
  return `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}

/**
 * The caller's remaining budget from incoming headers, in milliseconds, or undefined when no
 * usable value is present. Malformed or negative values are ignored; absurdly large ones are
 * capped to `maxMs`, so a caller cannot keep this service's work alive for hours.
 */
export function readBudget(
  headers: HeaderSource,
  options: ReadBudgetOptions = {},
): number | undefined {
  checkOptionsObject('readBudget', options);
  const maxMs = options.maxMs ?? DEFAULT_MAX_BUDGET_MS;
  checkInteger('maxMs', maxMs, 1);
  const candidates: Array<number | undefined> = [];
  const own = headerValue(headers, (options.header ?? DEFAULT_BUDGET_HEADER).toLowerCase());
  if (own !== undefined) candidates.push(parseMillis(own));
  if (options.fallbacks ?? true) {
    const grpc = headerValue(headers, GRPC_TIMEOUT_HEADER);
    if (grpc !== undefined) candidates.push(parseGrpcTimeout(grpc));
    const envoy = headerValue(headers, ENVOY_TIMEOUT_HEADER);
    if (envoy !== undefined) candidates.push(parseMillis(envoy));
  }
  let budget: number | undefined;
  for (const candidate of candidates) {
    // Several valid budgets: the tightest one is the one the caller will enforce.
    if (candidate !== undefined && (budget === undefined || candidate < budget)) budget = candidate;
  }
  return budget === undefined ? undefined : Math.min(budget, maxMs);
}

export interface WriteBudgetOptions {
  /** The header to write milliseconds into. Default: `x-bulwark-timeout-ms`. */
  header?: string;
  /** Also write `grpc-timeout`. Default: false. */
  grpc?: boolean;
}

/**
 * Writes the remaining budget of `context` (or a number of milliseconds) onto outgoing headers.
 * Writes nothing when there is no deadline. Returns the milliseconds written.
 */
export function writeBudget(
  headers: Record<string, string> | { set(name: string, value: string): void },
  budget: ExecutionContext | number,
  options: WriteBudgetOptions = {},
): number | undefined {
  const remaining = typeof budget === 'number' ? budget : budget.remaining();
  if (!(remaining >= 0) || remaining === Infinity) return undefined;
  // Round down: claiming more time than is left would let the server work past our deadline.
  const ms = Math.floor(remaining);
  const set =
    typeof (headers as { set?: unknown }).set === 'function'
      ? (name: string, value: string) =>
          (headers as { set(n: string, v: string): void }).set(name, value)
      : (name: string, value: string) => {
          (headers as Record<string, string>)[name] = value;
        };
  set((options.header ?? DEFAULT_BUDGET_HEADER).toLowerCase(), String(ms));
  if (options.grpc === true) set(GRPC_TIMEOUT_HEADER, formatGrpcTimeout(ms));
  return ms;
}
