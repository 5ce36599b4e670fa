/** What taskpool keeps in Redis beside BullMQ's keys, and the data a job carries. */
import { createRequire } from 'node:module';
import { connectionOptions, loadBullMQ, type QueueBackoff, type QueueConnection } from './options.js';

/**
 * A job's data: `a` its arguments as wire text (see codec.ts); `t` its per-attempt timeout,
 * `d` its deadline and `s` its first start (ms since the epoch, set by the worker), `b` its
 * backoff between attempts.
 */
export interface JobData {
  readonly a: string;
  readonly t?: number;
  readonly d?: number;
  readonly s?: number;
  readonly b?: QueueBackoff;
}

/** The ioredis client, as far as taskpool uses it. */
export interface RedisClient {
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  get(key: string): Promise<string | null>;
  hget(key: string, field: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  publish(channel: string, message: string): Promise<number>;
  subscribe(channel: string): Promise<unknown>;
  ping(): Promise<string>;
  del(key: string): Promise<number>;
  pipeline(): { get(key: string): unknown; hmget(key: string, ...fields: string[]): unknown; zscore(key: string, member: string): unknown; exec(): Promise<[Error | null, unknown][] | null> };
  defineCommand(name: string, definition: { lua: string; numberOfKeys: number }): void;
  disconnect(): void;
  quit(): Promise<unknown>;
  readonly status: string;
}

/** A key holding that job `id` was cancelled (its value: the reason as wire text, or ''). */
export function cancelKey(prefix: string, queue: string, id: string): string {
  return `${prefix}:${queue}:taskpool:cancelled:${id}`;
}

/**
 * A cancellation, as a client leaves it in a job's cancel key and announces it (after the id)
 * on the cancel channel: which instance of the job it is for (its `timestamp`, the time it was
 * added; '' for whichever, when the client does not know it), and the reason as wire text.
 * A key reused for a new job after a cancellation is therefore not cancelled by it.
 */
export interface CancelNote {
  readonly added: string;
  readonly reason: string;
}

/** A cancellation's text: `added reason`. */
export function formatCancel(added: number | undefined, reason: string): string {
  return `${added ?? ''} ${reason}`;
}

/** The cancellation in `text` (made by {@link formatCancel}). */
export function parseCancel(text: string): CancelNote {
  const space = text.indexOf(' ');
  return space === -1 ? { added: '', reason: '' } : { added: text.slice(0, space), reason: text.slice(space + 1) };
}

/** Whether a cancellation is for the instance of the job added at `timestamp` (`undefined`: not known). */
export function cancels(note: CancelNote, timestamp: number | undefined): boolean {
  return note.added === '' || timestamp === undefined || Number(note.added) === timestamp;
}

/** The channel where clients announce cancellations: messages are `id` then a {@link formatCancel} text. */
export function cancelChannel(prefix: string, queue: string): string {
  return `${prefix}:${queue}:taskpool:cancel`;
}

/** BullMQ's hash of job `id`. */
export function jobKey(prefix: string, queue: string, id: string): string {
  return `${prefix}:${queue}:${id}`;
}

/** A new ioredis connection (ioredis is BullMQ's peer, checked by `loadBullMQ`). */
export function createRedis(connection: QueueConnection, extra: Record<string, unknown>): RedisClient {
  loadBullMQ();
  const require = createRequire(import.meta.url);
  const module = require('ioredis') as { default?: new (options: object) => RedisClient } & (new (options: object) => RedisClient);
  const Redis = module.default ?? module;
  const { url, ...options } = connectionOptions(connection, extra) as { url?: string };
  return url === undefined ? new Redis(options) : new (Redis as unknown as new (url: string, options: object) => RedisClient)(url, options);
}
