/**
 * Property-based tests: generated programs of submissions, releases, cancellations,
 * timeouts, priorities, maps, waits and shutdowns, each checked against the executor's
 * guarantees (see spec/reliability/). Timers run on a fake clock and tasks settle only when
 * the program releases them, so a failing run is reproduced exactly by its seed and path.
 *
 * Environment (for `npm run fuzz`):
 * - TASKPOOL_FUZZ_RUNS: how many programs (default 2000);
 * - TASKPOOL_FUZZ_MINUTES: stop after this long (default: no limit);
 * - TASKPOOL_FUZZ_SEED: the seed (default: a fixed one, so that `npm test` is deterministic;
 *   `random` for a fresh one each run); with TASKPOOL_FUZZ_PATH, replays a reported failure;
 * - TASKPOOL_FUZZ_MAX_OPS: longest program (default 30).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { runProgram } from './reliability/driver.js';
import { programArbitrary, type Program } from './reliability/program.js';

const env = process.env;
const runs = Number(env.TASKPOOL_FUZZ_RUNS ?? 2000);
const minutes = env.TASKPOOL_FUZZ_MINUTES === undefined ? undefined : Number(env.TASKPOOL_FUZZ_MINUTES);
const maxOps = Number(env.TASKPOOL_FUZZ_MAX_OPS ?? 30);
/** `npm test` always runs the same programs; `npm run fuzz` draws new ones. */
const DEFAULT_SEED = 20_261_123;

describe('generated programs (property-based)', function () {
  // Hundreds of programs run in one test: the default timeout is for single tests.
  this.timeout(minutes === undefined ? Math.max(60_000, runs * 50) : minutes * 60_000 + 120_000);

  it(`keep every guarantee over ${runs} programs of 5–${maxOps} operations`, async () => {
    const totals = { programs: 0, tasks: 0, futures: 0, timersFired: 0 };
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
      fc.asyncProperty(programArbitrary({ minOps: 5, maxOps, maxWorkers: 4 }), async (program) => {
        const summary = await runProgram(program);
        totals.programs++;
        totals.tasks += summary.tasks;
        totals.futures += summary.futures;
        totals.timersFired += summary.timersFired;
        for (const [event, count] of summary.tally) tally.set(event, (tally.get(event) ?? 0) + count);
      }),
      parameters,
    );
    if (env.TASKPOOL_FUZZ_REPORT !== undefined) {
      console.log(`property: ${JSON.stringify(totals)}`);
      for (const [event, count] of [...tally].sort((a, b) => b[1] - a[1])) console.log(`  ${String(count).padStart(9)}  ${event}`);
    }
    expect(totals.programs).to.be.greaterThan(0);
  });
});
