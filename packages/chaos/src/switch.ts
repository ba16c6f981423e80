import { checkBoolean } from '@bulwark/core/internal';

const SWITCH_BRAND = Symbol.for('bulwark.chaos.switch');

/**
 * An on/off switch that several chaos policies and interceptors can share, flipped at run time
 * (from an admin endpoint, a signal handler, a feature flag's callback). Every call reads it, so a
 * flip takes effect on the next call.
 */
export interface ChaosSwitch {
  /** Whether the policies that share this switch inject anything. */
  readonly enabled: boolean;
  enable(): void;
  disable(): void;
}

class Switch implements ChaosSwitch {
  readonly [SWITCH_BRAND] = true;
  constructor(public enabled: boolean) {}
  enable(): void {
    this.enabled = true;
  }
  disable(): void {
    this.enabled = false;
  }
}

/**
 * A switch to give as the `enabled` option of every chaos policy of a rehearsal, to turn them
 * all on and off at once.
 *
 * @example
 * const chaos = chaosSwitch(process.env.CHAOS === 'on');
 * const slow = chaosLatency({ rate: 0.1, latencyMs: 2_000, enabled: chaos });
 * process.on('SIGUSR2', () => (chaos.enabled ? chaos.disable() : chaos.enable()));
 */
export function chaosSwitch(enabled = true): ChaosSwitch {
  checkBoolean('enabled', enabled);
  return new Switch(enabled);
}

/** True for a switch made by {@link chaosSwitch}, from any installed copy of this package. */
export function isChaosSwitch(value: unknown): value is ChaosSwitch {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[SWITCH_BRAND] === true
  );
}
