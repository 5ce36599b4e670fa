/**
 * Property-based tests of the policies: generated programs of tasks with random retry
 * policies, timeouts, deadlines and single-flight keys on executors with a rate limit and a
 * circuit breaker (sometimes shared by two executors), interleaved with releases, cancellations,
 * aborts, clock advances and shutdowns, each checked against the guarantees listed in
 * spec/policies-property/driver.ts. Timers and `Date.now` run on a fake clock and the backoffs'
 * jitter on a seeded generator, so a failing run is reproduced exactly by its seed and path.
 *
 * Environment (shared with spec/property.spec.ts, for `npm run fuzz`):
 * - TASKPOOL_FUZZ_RUNS: how many programs (default 1000 here);
 * - TASKPOOL_FUZZ_MINUTES: stop after this long (default: no limit);
 * - TASKPOOL_FUZZ_SEED: the seed (default: a fixed one, so that `npm test` is deterministic;
 *   `random` for a fresh one each run); with TASKPOOL_FUZZ_PATH, replays a reported failure;
 * - TASKPOOL_FUZZ_MAX_OPS: longest program (default 30);
 * - TASKPOOL_FUZZ_REPORT: print how often each event happened.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { runPolicyProgram } from './policies-property/driver.js';
import { programArbitrary, type Op, type Program, type TaskScript } from './policies-property/program.js';

const env = process.env;
const runs = Number(env.TASKPOOL_FUZZ_RUNS ?? 1000);
const minutes = env.TASKPOOL_FUZZ_MINUTES === undefined ? undefined : Number(env.TASKPOOL_FUZZ_MINUTES);
const maxOps = Number(env.TASKPOOL_FUZZ_MAX_OPS ?? 30);
/** `npm test` always runs the same programs; `npm run fuzz` draws new ones. */
const DEFAULT_SEED = 20_261_207;

describe('generated policy programs (property-based)', function () {
  // Hundreds of programs run in one test: the default timeout is for single tests.
  this.timeout(minutes === undefined ? Math.max(60_000, runs * 100) : minutes * 60_000 + 120_000);

  it(`keep every policy guarantee over ${runs} programs of 5–${maxOps} operations`, async () => {
    let programs = 0;
    const tally = new Map<string, number>();
    const parameters: fc.Parameters<[Program]> = { numRuns: runs };
    const seed = env.TASKPOOL_FUZZ_SEED ?? String(DEFAULT_SEED);
    if (seed !== 'random') parameters.seed = Number(seed);
    if (env.TASKPOOL_FUZZ_PATH !== undefined) parameters.path = env.TASKPOOL_FUZZ_PATH;
    if (minutes !== undefined) {
      parameters.interruptAfterTimeLimit = minutes * 60_000;
      parameters.markInterruptAsFailure = false;
    }
    await fc.assert(
      fc.asyncProperty(programArbitrary({ minOps: 5, maxOps }), async (program) => {
        const summary = await runPolicyProgram(program);
        programs++;
        for (const [event, count] of summary.tally) tally.set(event, (tally.get(event) ?? 0) + count);
      }),
      parameters,
    );
    if (env.TASKPOOL_FUZZ_REPORT !== undefined) {
      console.log(`policies property: ${programs} programs`);
      for (const [event, count] of [...tally].sort((a, b) => b[1] - a[1])) console.log(`  ${String(count).padStart(9)}  ${event}`);
    }
    expect(programs).to.be.greaterThan(0);
  });
});

/** A program with no policy but those given. */
function program(overrides: Partial<Program> & { ops: Op[] }): Program {
  return { maxWorkers: [1], rateLimit: undefined, breaker: undefined, retry: undefined, taskTimeout: undefined, seed: 0, ...overrides };
}

/** `run(task)` of a task doing as `script` says, with the executor's defaults or the options given. */
function run(script: Partial<TaskScript>, options?: Partial<Extract<Op, { type: 'run' }>>): Op {
  const task: TaskScript = { failTimes: 0, hang: false, respectsSignal: false, ...script };
  const defaults = { retry: undefined, timeout: undefined, deadline: undefined, key: undefined, signal: undefined, priority: 0 };
  return { type: 'run', exec: 0, script: task, withOptions: options !== undefined, via: 'run', ...defaults, ...options };
}

describe('policy programs that once broke a guarantee', () => {
  it('a single-flight follower watching a signal leaves no abort listener once the task settles', async () => {
    await runPolicyProgram(program({ ops: [run({}, { key: 'a', signal: 1 }), run({}, { key: 'a', signal: 1 })] }));
  });

  it('shutdown({ wait: true }) does not resolve when a failed probe wakes the start gate before its task waits to retry', async () => {
    const failing = { failTimes: Infinity, hang: true };
    await runPolicyProgram(
      program({
        maxWorkers: [2],
        breaker: { consecutiveFailures: 1, halfOpenAfter: 5, successThreshold: 1, shared: false },
        retry: { attempts: 3, backoff: { kind: 'fixed', ms: 5 }, retryIf: 'default' },
        ops: [
          run(failing),
          run(failing),
          // The first fails and opens the breaker; the second fails while it is open: both retry at 5.
          { type: 'release', pick: 0 },
          { type: 'release', pick: 0 },
          { type: 'shutdown', exec: 0, wait: true, cancelFutures: false },
          // The first probes, the second waits behind the probe.
          { type: 'advance', ms: 5 },
          // The probe fails: the second is refused, the first waits to retry.
          { type: 'release', pick: 0 },
          { type: 'advance', ms: 10 },
        ],
      }),
    );
  });
});
