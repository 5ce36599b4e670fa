/** Shared set-up of the queue specs: a private Redis per file, unique queue names, tracked clients and servers. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { QueueExecutor, serveQueue, type QueueServer } from '../../lib/queue/index.js';
import type { QueueExecutorOptions, ServeQueueOptions, UntypedHandlers } from '../../lib/queue/options.js';
import { packageRoot, track } from '../helpers.js';
import { requireRedisServer, startRedis, type PrivateRedis } from './redis.js';

const require = createRequire(import.meta.url);
type Redis = import('ioredis').default;
const IORedis = (require('ioredis') as { default: new (url: string, options?: object) => Redis }).default;

let counter = 0;

/** A queue name no other test uses. */
export function queueName(): string {
  return `q${process.pid}-${++counter}`;
}

/** Short timings: a dead worker's job is recovered within about two seconds, never BullMQ's 60 s. */
export const FAST_RECOVERY = { lockDuration: 1_000, stalledInterval: 500 } as const;

export interface Harness {
  redis: PrivateRedis;
  /** A raw connection for the test itself. */
  raw: Redis;
  client<H extends object = UntypedHandlers>(options: Partial<QueueExecutorOptions> & { queue: string }): QueueExecutor<H>;
  serve<H extends object>(options: Partial<ServeQueueOptions<H>> & { queue: string; handlers: H }): Promise<QueueServer>;
  /** Starts `taskpool worker` (dist/cli.js) on the fixture handlers; resolves once it serves. */
  workerProcess(queue: string, args?: string[]): Promise<WorkerProcess>;
}

export interface WorkerProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Registers the mocha hooks of a spec file and returns what its tests use. */
export function useQueueHarness(options: { persistence?: boolean } = {}): Harness {
  const servers = new Set<QueueServer>();
  const processes = new Set<ChildProcess>();
  const connections = new Set<Redis>();
  const harness = {} as Harness;

  before(async function () {
    this.timeout(20_000);
    requireRedisServer(this);
    harness.redis = await startRedis(options);
    harness.raw = new IORedis(harness.redis.url, { maxRetriesPerRequest: null });
    connections.add(harness.raw);
  });

  afterEach(async function () {
    this.timeout(20_000);
    for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    processes.clear();
    await Promise.all([...servers].map((server) => server.close({ abort: true })));
    servers.clear();
  });

  after(async function () {
    this.timeout(20_000);
    for (const connection of connections) connection.disconnect();
    await harness.redis?.stop();
  });

  harness.client = <H extends object = UntypedHandlers>(clientOptions: Partial<QueueExecutorOptions> & { queue: string }) =>
    track(new QueueExecutor<H>({ connection: harness.redis.url, checkInterval: 200, ...clientOptions }));

  harness.serve = async <H extends object>(serveOptions: Partial<ServeQueueOptions<H>> & { queue: string; handlers: H }) => {
    const server = await serveQueue<H>({ connection: harness.redis.url, ...FAST_RECOVERY, ...serveOptions } as ServeQueueOptions<H>);
    servers.add(server);
    return server;
  };

  harness.workerProcess = (queue: string, args: string[] = []) => {
    const root = packageRoot();
    const child = spawn(
      process.execPath,
      [join(root, 'dist', 'cli.js'), 'worker', '--queue', queue, '--redis', harness.redis.url, '--lock-duration', '1000', '--stalled-interval', '500', ...args, join(root, 'spec', 'fixtures', 'queue', 'handlers.mjs')],
      { env: { ...process.env, REDIS_URL: harness.redis.url }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    processes.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return new Promise<WorkerProcess>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('serving queue')) resolve({ child, stdout: () => stdout, stderr: () => stderr, exited });
      });
      void exited.then((code) => reject(new Error(`taskpool worker exited (${code}) before serving:\n${stderr}`)));
    });
  };

  return harness;
}

/** Waits for the next item of a Redis list (the fixture handlers report on `started`). */
export async function nextOf(raw: Redis, list: string): Promise<string> {
  const connection = raw.duplicate();
  try {
    const reply = await connection.blpop(list, 0);
    return reply![1];
  } finally {
    connection.disconnect();
  }
}
