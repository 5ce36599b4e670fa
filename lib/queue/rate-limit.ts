/**
 * `serveQueue`'s rate limit: a sliding window of job starts kept in Redis, shared by every
 * worker of the queue, on every machine.
 *
 * Each start runs one script (one round trip): it drops the starts older than `interval` ms,
 * and records this one when fewer than `limit` remain. Times are Redis' own clock (`TIME`),
 * so workers whose clocks disagree still agree on the window. When the window is full, the
 * script also sets BullMQ's limiter key until the oldest start leaves it, so that no worker of
 * the queue takes a job before then (BullMQ's workers read that key before each fetch).
 *
 * A worker may still take a job that the window then holds back (several take jobs at once
 * when it has room again): BullMQ has announced it `active`, yet it has not started. So a
 * granted start is announced by the script itself (a `taskpool:started` event on the queue's
 * event stream, and the time in the job's `tps` field), and the clients of a rate-limited
 * queue (told by {@link rateLimitKey}) follow those instead of BullMQ's `active`.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from './keys.js';

/** The event announcing a start granted by the window (clients of a rate-limited queue follow it). */
export const STARTED_EVENT = 'taskpool:started';

/** The job's field holding when its last start was granted (ms, Redis' clock). */
export const STARTED_FIELD = 'tps';

/**
 * KEYS[1]: the starts (a sorted set: members unique per start, scores in microseconds of
 * Redis' clock); KEYS[2]: BullMQ's limiter key; KEYS[3]: the job's hash; KEYS[4]: the queue's
 * event stream; KEYS[5]: its meta hash. ARGV: limit, interval (ms), this start's member, the
 * job's id. Returns `{ granted (1 or 0), ms until the window has room (0 when it has) }`.
 * Numbers go to Redis as integer strings (Lua would write a 16-digit one with 14 digits).
 */
const SCRIPT = `
local function int(x) return string.format('%.0f', x) end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local limit = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local window = interval * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now - window))
local count = redis.call('ZCARD', KEYS[1])
local granted = 0
if count < limit then
  redis.call('ZADD', KEYS[1], int(now), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], int(math.ceil(interval)))
  granted = 1
  count = count + 1
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], '${STARTED_FIELD}', int(math.floor(now / 1000))) end
  local maxEvents = tonumber(redis.call('HGET', KEYS[5], 'opts.maxLenEvents')) or 10000
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', int(maxEvents), '*', 'event', '${STARTED_EVENT}', 'jobId', ARGV[4])
end
if count < limit then return { granted, 0 } end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
local wait = math.max(1, math.ceil((oldest + window - now) / 1000))
redis.call('SET', KEYS[2], '9007199254740991', 'PX', int(wait))
return { granted, wait }
`;

const COMMAND = 'taskpoolTakeStart';

/**
 * BullMQ's limiter options for a worker whose starts the window limits: BullMQ's own counter
 * never binds (`max` is out of its reach), but a worker with a limiter reads the limiter key
 * before each fetch and waits while it holds a pause, which is how the script stops every
 * worker of the queue at once.
 */
export function pauseOnlyLimiter(interval: number): { max: number; duration: number } {
  return { max: 2 ** 31 - 1, duration: Math.max(1, Math.ceil(interval)) };
}

/** Asks for job `id`'s start: 0 when it may start now, otherwise the milliseconds until the window has room. */
export type TakeStart = (id: string) => Promise<number>;

/** The key of the queue's start times. */
export function startsKey(prefix: string, queue: string): string {
  return `${prefix}:${queue}:taskpool:starts`;
}

/**
 * The key telling clients that the queue's workers have a rate limit (its value: the limit as
 * JSON), set by every worker with one and removed by every worker without.
 */
export function rateLimitKey(prefix: string, queue: string): string {
  return `${prefix}:${queue}:taskpool:rate-limit`;
}

/**
 * A sliding window of at most `limit` starts in any `interval` ms for queue `queue`, on the
 * connection `redis` (its script is sent once, then called by its hash).
 */
export function slidingWindow(redis: RedisClient, prefix: string, queue: string, limit: number, interval: number): TakeStart {
  redis.defineCommand(COMMAND, { numberOfKeys: 5, lua: SCRIPT });
  const call = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<[number, number]>>)[COMMAND]!.bind(redis);
  const starts = startsKey(prefix, queue);
  const limiter = `${prefix}:${queue}:limiter`;
  const events = `${prefix}:${queue}:events`;
  const meta = `${prefix}:${queue}:meta`;
  const member = randomUUID();
  let count = 0;
  return async (id: string) => {
    const [granted, wait] = await call(starts, limiter, `${prefix}:${queue}:${id}`, events, meta, limit, interval, `${member}:${++count}`, id);
    return granted === 1 ? 0 : Math.max(1, wait);
  };
}
