import { type Clock, systemClock } from '@bulwark/core';
import {
  checkKnownOptions,
  checkOptionsObject,
  checkString,
  optionNames,
} from '@bulwark/core/internal';
import type { HealthCheckDefinition, HealthObservation } from '../health-check.js';
import type { HealthKind } from '../status.js';

/** ioredis connection states in which a PING would only wait in the offline queue. */
const DOWN_STATES: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);

/** The part of a Redis client the check uses; ioredis's `Redis` and `Cluster` have it. */
export interface RedisPingLike {
  /** ioredis's connection status, when the client has one. */
  readonly status?: string;
  ping(): Promise<string>;
}

export interface RedisCheckOptions {
  client: RedisPingLike;
  /** Default `redis`. The entry is `redis:responseTime`. */
  name?: string;
  /** Default `readiness`. */
  kind?: HealthKind | readonly HealthKind[];
  /** Default true. */
  critical?: boolean;
  timeoutMs?: number;
  cacheMs?: number;
  /** Measures the response time. Default: the system clock. */
  clock?: Clock;
}

const OPTION_NAMES = optionNames<RedisCheckOptions>({
  client: true,
  name: true,
  kind: true,
  critical: true,
  timeoutMs: true,
  cacheMs: true,
  clock: true,
});

/**
 * Sends PING and expects PONG. A client that is reconnecting fails at once instead of queueing
 * the PING until the timeout.
 */
export function redisCheck(options: RedisCheckOptions): HealthCheckDefinition {
  checkOptionsObject('redisCheck', options);
  checkKnownOptions('redisCheck', options, OPTION_NAMES);
  const {
    client,
    name = 'redis',
    kind = 'readiness',
    critical = true,
    timeoutMs,
    cacheMs,
    clock = systemClock,
  } = options;
  if (typeof client !== 'object' || client === null || typeof client.ping !== 'function') {
    throw new TypeError('expected client to be a Redis client with a ping() method');
  }
  checkString('name', name);
  return {
    name,
    component: name,
    measurement: 'responseTime',
    componentType: 'datastore',
    kind,
    critical,
    timeoutMs,
    cacheMs,
    check: async (): Promise<HealthObservation> => {
      const status = client.status;
      if (status !== undefined && DOWN_STATES.has(status)) {
        return { status: 'fail', output: `redis connection is ${status}` };
      }
      const started = clock.now();
      const reply = await client.ping();
      const elapsed = Math.round((clock.now() - started) * 10) / 10;
      if (reply !== 'PONG') {
        return {
          status: 'fail',
          observedValue: elapsed,
          observedUnit: 'ms',
          output: 'unexpected reply to PING',
        };
      }
      return { status: 'pass', observedValue: elapsed, observedUnit: 'ms' };
    },
  };
}
