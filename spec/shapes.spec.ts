import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { TaskPoolExecutor } from '../lib/index.js';
import type { WorkItem } from '../lib/work-item.js';

/**
 * The scheduler's optimized code survives a full garbage collection (lib/internal/shapes.ts).
 * A child process maps and submits in bursts with `gc()` before each, under `--trace-deopt`, and V8 says
 * which optimized code it throws away because an object it was built for was collected
 * ("weak objects"): before the shapes were kept, every hot function of the scheduler was,
 * at every burst. V8's messages are facts about what it did, not timings.
 */

const INDEX = new URL('../lib/index.js', import.meta.url).href;

/** The scheduler's functions that run for every task of a map or of `submit`. */
const HOT = ['#work', '#takeNext', '#begin', '#finish', '#attemptEnded', 'take', 'itemTaken', 'itemSettled', 'settle', 'end', 'notify', 'whenDone', 'MapHandle', 'MapWorkItem', 'TaskItem', 'Future', 'schedule', 'submit', '#settle', 'push', 'settled'];

const BURSTS = `
const { TaskPoolExecutor } = await import(${JSON.stringify(INDEX)});
const mapper = async (i) => i;
for (let burst = 0; burst < 8; burst++) {
  const items = Array.from({ length: 20000 }, (_, i) => i);
  gc();
  gc();
  if (burst === 3) console.log('--- warm');
  const pool = new TaskPoolExecutor({ maxWorkers: 16 });
  let sum = 0;
  for await (const value of pool.map(mapper, items)) sum += value;
  const futures = items.map((i) => pool.submit(mapper, i));
  for (const value of await Promise.all(futures)) sum += value;
  await pool.shutdown();
  if (sum !== 20000 * 19999) throw new Error('wrong sum ' + sum);
}
`;

const FIRST_MAPS = `
const { TaskPoolExecutor } = await import(${JSON.stringify(INDEX)});
const mapper = async (i) => i;
for (const maxWorkers of [16, 1]) {
  for (let round = 0; round < 2; round++) {
    const items = Array.from({ length: 20000 }, (_, i) => i);
    const pool = new TaskPoolExecutor({ maxWorkers });
    let sum = 0;
    for await (const value of pool.map(mapper, items)) sum += value;
    await pool.shutdown();
    if (sum !== 10000 * 19999) throw new Error('wrong sum ' + sum);
  }
}
`;

function run(args: string[], source: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Not under coverage, which V8 compiles differently (captured contexts' shapes are dropped
    // then). Node gives a child the parent's NODE_V8_COVERAGE unless the child's env has its own: empty.
    const env = { ...process.env, NODE_V8_COVERAGE: '' };
    const child = spawn(process.execPath, [...args, '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the scheduler across garbage collections', function () {
  this.timeout(60_000);

  it('keeps its optimized code: after a few bursts, no hot function is thrown away because an object it was built for was collected', async () => {
    const { code, stdout, stderr } = await run(['--expose-gc', '--trace-deopt'], BURSTS);
    expect(code, stderr).to.equal(0);
    const warm = stdout.slice(stdout.indexOf('--- warm'));
    expect(warm, 'the child printed its marker').to.include('--- warm');
    // `[marking dependent code 0x… <Code TURBOFAN> (0x… <SharedFunctionInfo name>) (opt id N) for deoptimization, reason: weak objects]`
    const thrownAway = [...warm.matchAll(/<SharedFunctionInfo ([^>]*)>\) \(opt id \d+\) for deoptimization, reason: weak objects/g)].map((match) => match[1]);
    expect(thrownAway.filter((name) => HOT.includes(name!))).to.deep.equal([]);
  });

  it('throws away little as a first map ends: no hot function for a field that changed, none for a read past an end, never the slot loop', async function () {
    // When V8 optimizes the slot loop depends on the machine's load: now and then, with other
    // test files running beside it, it does so before a path of the end has run once, and
    // throws that code away as the end comes. A second run tells that chance from a change
    // that makes it happen every time.
    this.retries(1);
    // A field that changes only as a map ends, or a read past the end of a queue, threw away
    // the optimized code of every function that relied on it, and the next map compiled the
    // scheduler again (lib/internal/shapes.ts, FifoQueue.peek). Paths first taken at the end
    // (the last task, the last settlement) still throw away the function they are in, but
    // not the slot loop (#work), the largest of them.
    const { code, stdout, stderr } = await run(['--trace-deopt'], FIRST_MAPS);
    expect(code, stderr).to.equal(0);
    const fieldChanged = [...stdout.matchAll(/<SharedFunctionInfo ([^>]*)>\) \(opt id \d+\) for deoptimization, reason: code dependencies/g)].map((match) => match[1]);
    expect(fieldChanged.filter((name) => HOT.includes(name!))).to.deep.equal([]);
    const bailouts = [...stdout.matchAll(/bailout \(kind: [^,]*, reason: ([^)]*)\): begin\. deoptimizing [^<]*<JSFunction (\S+)/g)].map((match) => `${match[2]}: ${match[1]}`);
    expect(bailouts.filter((line) => line.startsWith('#work:') || line.endsWith('out of bounds'))).to.deep.equal([]);
  });

  it('gives every executor work items of one class', async () => {
    const seen: WorkItem[] = [];
    class Probe extends TaskPoolExecutor {
      protected override execute(item: WorkItem): unknown {
        seen.push(item);
        return super.execute(item);
      }
    }
    const first = new Probe({ maxWorkers: 1 });
    const second = new Probe({ maxWorkers: 1 });
    await Promise.all([first.submit(() => 1), first.submit(() => 2), second.submit(() => 3)]);
    expect(seen).to.have.lengthOf(3);
    expect(new Set(seen.map((item) => Object.getPrototypeOf(item))).size).to.equal(1);
  });
});
