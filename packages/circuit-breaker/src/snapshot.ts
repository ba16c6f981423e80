import {
  checkInteger,
  checkNumber,
  checkObject,
  checkOneOf,
  checkString,
  describeValue,
} from '@bulwark/core/internal';
import type { StrategySnapshot } from './strategy.js';

export const SNAPSHOT_VERSION = 1;

/**
 * A breaker's state in a form that survives `JSON.stringify` and a process restart. Times
 * are wall-clock milliseconds since the epoch, because a monotonic clock restarts with the
 * process. A half-open breaker is saved as open with its trial due: in-flight trials do not
 * survive a restart.
 */
export interface BreakerSnapshot {
  readonly version: typeof SNAPSHOT_VERSION;
  /** The breaker's key, for registries. */
  readonly key?: string | undefined;
  readonly state: 'closed' | 'open' | 'isolated';
  /** When the snapshot was taken. */
  readonly takenAt: number;
  /** When open: when the next trial call is allowed. */
  readonly openUntil?: number | undefined;
  /** The current break duration (grown by `breakBackoff`). */
  readonly breakMs: number;
  /** Failed trials since the breaker last closed. */
  readonly reopens: number;
  readonly strategy: StrategySnapshot;
}

export const SNAPSHOT_STATES = ['closed', 'open', 'isolated'] as const;

/** Checks a snapshot's shape before any of it is applied. */
export function checkSnapshot(snapshot: unknown): asserts snapshot is BreakerSnapshot {
  checkObject('snapshot', snapshot);
  const s = snapshot as Record<string, unknown>;
  if (s.version !== SNAPSHOT_VERSION) {
    throw new TypeError(
      `expected snapshot.version to be ${SNAPSHOT_VERSION}, got ${describeValue(s.version)}`,
    );
  }
  if (s.key !== undefined) checkString('snapshot.key', s.key, Number.MAX_SAFE_INTEGER);
  checkOneOf('snapshot.state', s.state, SNAPSHOT_STATES);
  checkFinite('snapshot.takenAt', s.takenAt);
  if (s.state === 'open') checkFinite('snapshot.openUntil', s.openUntil);
  checkNumber('snapshot.breakMs', s.breakMs, 1, Infinity);
  checkInteger('snapshot.reopens', s.reopens, 0, Infinity);
  checkObject('snapshot.strategy', s.strategy);
  checkString('snapshot.strategy.kind', (s.strategy as Record<string, unknown>).kind);
}

function checkFinite(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`expected ${name} to be a finite number, got ${describeValue(value)}`);
  }
}
