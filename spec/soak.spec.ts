/**
 * Soak and leak test (see spec/reliability/soak.ts). In `npm test` a short form: 20,000 tasks
 * and 20,000 map items. `npm run soak` runs a million of each in a process started with
 * `--expose-gc` and prints the figures.
 *
 * Environment: TASKPOOL_SOAK_TASKS (default 20000), TASKPOOL_SOAK_ITEMS (default: the same),
 * TASKPOOL_SOAK_REPORT (print the figures).
 */
import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { soakExecutor, soakMap } from './reliability/soak.js';

const env = process.env;
const tasks = Number(env.TASKPOOL_SOAK_TASKS ?? 20_000);
const items = Number(env.TASKPOOL_SOAK_ITEMS ?? tasks);
const report = env.TASKPOOL_SOAK_REPORT !== undefined;
/** The first checkpoint is where the heap is taken as the baseline. */
const first = Math.min(10_000, tasks / 10);
/** How much the heap after GC may grow from the first checkpoint to the last. */
const allowedGrowthMB = 4;

/** `global.gc` when the process has it, else one obtained by turning the flag on now. */
function findGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

const mb = (value: number): string => `${value.toFixed(2)} MB`;
const thousands = (value: number): string => value.toLocaleString('en');

/** One line of figures: the heap after GC at each checkpoint and its growth. */
function heapLine(points: readonly { count: number; mb: number }[]): string {
  const [baseline] = points;
  const last = points.at(-1)!;
  const growth = last.mb - baseline!.mb;
  return `heap after GC ${points.map((point) => `${mb(point.mb)} at ${thousands(point.count)}`).join(', ')} (${growth >= 0 ? '+' : ''}${mb(growth)})`;
}

function checkpoints(total: number): number[] {
  const points = [first];
  for (let point = first * 10; point < total; point *= 10) points.push(point);
  points.push(total);
  return points;
}

describe(`soak: ${tasks.toLocaleString('en')} tasks and ${items.toLocaleString('en')} map items`, function () {
  this.timeout(Math.max(30_000, tasks / 20));
  const gc = findGc();

  it('loses no future, leaves no timer, and keeps the heap flat over mixed tasks', async () => {
    await null;
    const timersBefore = timers();
    const result = await soakExecutor(tasks, checkpoints(tasks), gc);
    if (report) {
      console.log(`soak: ${thousands(tasks)} tasks in ${result.seconds.toFixed(1)} s, ${heapLine(result.heap.map((point) => ({ count: point.tasks, mb: point.mb })))}`);
      console.log(`soak: outcomes ${JSON.stringify(result.outcomes)} (${thousands(result.timedOut)} timeouts), stats ${JSON.stringify(result.stats)}`);
    }
    expect(result.outcomes).to.deep.equal(result.expected);
    expect(result.outcomes.fulfilled + result.outcomes.rejected + result.outcomes.cancelled).to.equal(tasks);
    expect(result.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: result.expected.fulfilled, failed: result.expected.rejected, cancelled: result.expected.cancelled });
    expect(result.timedOut).to.equal(Math.ceil((tasks - 8) / 64));
    expect(timers()).to.equal(timersBefore);
    const [baseline, ...rest] = result.heap;
    for (const point of rest) expect(point.mb - baseline!.mb, `heap growth from ${baseline!.tasks} to ${point.tasks} tasks (MB)`).to.be.below(allowedGrowthMB);
  });

  for (const input of ['sync', 'async'] as const) {
    it(`keeps map in order, within bufferSize and flat in memory over a ${input} input`, async () => {
      await null;
      const timersBefore = timers();
      const result = await soakMap(items, 64, checkpoints(items), gc, input);
      if (report) {
        console.log(
          `soak: map over a ${input} input, ${thousands(items)} items in ${result.seconds.toFixed(1)} s, at most ${result.maxAhead} ahead, ${heapLine(result.heap.map((point) => ({ count: point.items, mb: point.mb })))}`,
        );
      }
      expect(result.items).to.equal(items);
      expect(result.misordered).to.equal(undefined);
      expect(result.maxAhead).to.be.at.most(64);
      expect(result.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: items, failed: 0, cancelled: 0 });
      expect(timers()).to.equal(timersBefore);
      const [baseline, ...rest] = result.heap;
      for (const point of rest) expect(point.mb - baseline!.mb, `heap growth from ${baseline!.items} to ${point.items} items (MB)`).to.be.below(allowedGrowthMB);
    });
  }
});
