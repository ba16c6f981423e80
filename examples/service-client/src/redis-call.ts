// A call that is not HTTP (a Redis GET) under the same standard pipeline the service client uses:
// a deadline, budgeted retries, a breaker, an attempt timeout, and a fallback when Redis is down.
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { standardPipeline } from '@bulwark/resilience';

export function createSessionReader(redis: Redis) {
  const pipeline = standardPipeline({
    operation: 'sessions.get',
    attemptTimeoutMs: 200,
    deadlineMs: 1_000,
    // Redis answers in a millisecond or not at all: without a session the user signs in again.
    fallback: { value: null },
  });
  return (id: string): Promise<string | null> =>
    pipeline.execute(({ signal }) => {
      signal.throwIfAborted();
      return redis.get(`session:${id}`);
    });
}

// `npm run redis`: reads a session from the Redis at REDIS_URL (default 127.0.0.1:6379).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  await redis.set('session:42', 'alice').catch(() => undefined);
  console.log('session 42:', await createSessionReader(redis)('42'));
  redis.disconnect();
}
