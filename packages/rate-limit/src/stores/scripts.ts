import { createHash } from 'node:crypto';
import type { AlgorithmKind } from '../algorithm.js';

/**
 * The Redis side of the algorithms in `gcra.ts` and `window-counter.ts`, line for line the same
 * integer arithmetic, so a limit means the same in memory and in Redis.
 *
 * Each script is one atomic decision on one key, timed by the Redis server's own clock (`TIME`):
 * every replica of a service asks the same clock, so clock skew between the replicas cannot
 * widen or narrow the limit. A key lives on one server (one shard of a cluster), so its decisions
 * always use one clock. Scripts that call TIME and then write need effects replication, the
 * default since Redis 5 and the only mode since 7; `replicate_commands()` turns it on for 3.2–4.
 *
 * Every script takes KEYS[1] and ARGV = permits, limit, windowMs, capacity, and a decision
 * returns { allowed (0|1), remaining, resetMs, retryAfterMs }. Numbers written back go through
 * `string.format('%d')`, as Lua would otherwise print large ones in exponent form.
 */

const PRELUDE = `if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local permits = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local stored = redis.call('GET', KEYS[1])
`;

// The bucket's state is "ms:frac", its TAT as in gcra.ts; it expires when the bucket is full.
const GCRA_READ = `local full = tonumber(ARGV[4]) * window
local d = 0
if stored then
  local ms, frac = string.match(stored, '^(%d+):(%d+)$')
  ms = tonumber(ms)
  if ms and ms >= now then d = (ms - now) * limit + tonumber(frac) end
end
`;

const GCRA_TAKE = `${PRELUDE}${GCRA_READ}local after = d + permits * window
if after <= full then
  redis.call('SET', KEYS[1], string.format('%d:%d', now + math.floor(after / limit), after % limit),
    'PX', string.format('%d', math.ceil(after / limit)))
  return {1, math.floor((full - after) / window), math.ceil(after / limit), 0}
end
return {0, math.floor((full - d) / window), math.ceil(d / limit), math.ceil((after - full) / limit)}
`;

// Gives back permits taken for a caller that left before using them.
const GCRA_REFUND = `${PRELUDE}${GCRA_READ}d = d - permits * window
if d <= 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('SET', KEYS[1], string.format('%d:%d', now + math.floor(d / limit), d % limit),
  'PX', string.format('%d', math.ceil(d / limit)))
return 1
`;

// The counter's state is "window:current:previous", as in window-counter.ts; it expires once
// both windows it counts have passed.
const WINDOW_READ = `local win = math.floor(now / window)
local elapsed = now - win * window
local w, current, previous = nil, 0, 0
if stored then
  local a, b, c = string.match(stored, '^(%d+):(%d+):(%d+)$')
  w = tonumber(a)
  if w == win then
    current = tonumber(b)
    previous = tonumber(c)
  elseif w == win - 1 then
    previous = tonumber(b)
  end
end
`;

const WINDOW_TAKE = `${PRELUDE}${WINDOW_READ}local full = limit * window
local used = previous * (window - elapsed) + current * window
local cost = permits * window
if used + cost <= full then
  redis.call('SET', KEYS[1], string.format('%d:%d:%d', win, current + permits, previous),
    'PX', string.format('%d', 2 * window - elapsed))
  return {1, math.floor((full - used - cost) / window), 2 * window - elapsed, 0}
end
local remaining = math.floor((full - used) / window)
if remaining < 0 then remaining = 0 end
local reset = 0
if current > 0 then
  reset = 2 * window - elapsed
elseif previous > 0 then
  reset = window - elapsed
end
local room = (limit - current - permits) * window
if room >= 0 and previous > 0 and math.floor(room / previous) >= 1 then
  return {0, remaining, reset, window - math.floor(room / previous) - elapsed}
end
local wait = window - elapsed
if current > 0 then
  local later = window - math.floor((limit - permits) * window / current)
  if later > 0 then wait = wait + later end
end
return {0, remaining, reset, wait}
`;

// The permits were taken in the window stored, or (if it has rolled over since) the one before.
const WINDOW_REFUND = `${PRELUDE}${WINDOW_READ}if w == win then
  current = current - permits
  if current < 0 then current = 0 end
  redis.call('SET', KEYS[1], string.format('%d:%d:%d', win, current, previous),
    'PX', string.format('%d', 2 * window - elapsed))
elseif w == win - 1 then
  previous = previous - permits
  if previous < 0 then previous = 0 end
  redis.call('SET', KEYS[1], string.format('%d:%d:%d', w, previous, 0),
    'PX', string.format('%d', window - elapsed))
end
return 1
`;

/** A script and its SHA-1, for EVALSHA. */
export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const SCRIPTS: Record<AlgorithmKind, { readonly take: Script; readonly refund: Script }> = {
  'token-bucket': { take: new Script(GCRA_TAKE), refund: new Script(GCRA_REFUND) },
  'sliding-window': { take: new Script(WINDOW_TAKE), refund: new Script(WINDOW_REFUND) },
};

export function scriptsFor(kind: AlgorithmKind): {
  readonly take: Script;
  readonly refund: Script;
} {
  return SCRIPTS[kind];
}
