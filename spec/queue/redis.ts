/**
 * A private `redis-server` for the queue specs, benchmarks and demo: one per call of
 * {@link startRedis}, on a free loopback port, with its data in a temporary directory, stopped
 * (and the directory removed) by `stop()`. Never the system service.
 *
 * When `redis-server` is not installed the specs are skipped, except under `CI=true`, where a
 * missing server is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian installs it; `REDIS_SERVER` names another binary. */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** Whether `redis-server` can be run here. */
export function hasRedisServer(): boolean {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/**
 * For a mocha `before` hook: skips the suite when there is no `redis-server`, or throws when
 * `CI=true` (CI must never skip these tests).
 */
export function requireRedisServer(context: Mocha.Context): void {
  if (hasRedisServer()) return;
  if (process.env.CI === 'true') throw new Error(`${REDIS_SERVER} is not installed, and CI=true: install it (apt-get install -y redis-server)`);
  context.skip();
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisOptions {
  /** Append-only file with an fsync per write: a restart keeps every job. Default: no persistence. */
  persistence?: boolean;
}

/** A running private Redis. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Its data directory (removed by `stop()`). */
  readonly dir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for its exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory (after `kill`). */
  start(): Promise<void>;
  /** Stops it and removes its directory. Harmless when already stopped. */
  stop(): Promise<void>;
}

function launch(port: number, dir: string, persistence: boolean): Promise<ChildProcess> {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'no',
    '--save', '', '--logfile', '', '--loglevel', 'notice',
    ...(persistence ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => reject(new Error(`${REDIS_SERVER} exited (code ${code}, signal ${signal}) before it was ready:\n${output}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a private Redis on a free loopback port. */
export async function startRedis(options: RedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'taskpool-redis-'));
  let child: ChildProcess | undefined = await launch(port, dir, options.persistence === true);
  const redis: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async kill(signal = 'SIGTERM') {
      const current = child;
      child = undefined;
      if (current === undefined) return;
      const done = exited(current);
      current.kill(signal);
      const timer = setTimeout(() => current.kill('SIGKILL'), 5_000);
      await done;
      clearTimeout(timer);
    },
    async start() {
      if (child !== undefined) return;
      child = await launch(port, dir, options.persistence === true);
    },
    async stop() {
      await redis.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return redis;
}
