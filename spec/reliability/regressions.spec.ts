/**
 * Programs that the property-based test (spec/property.spec.ts) once failed on, replayed as
 * they were found: each stays green whatever seeds `npm test` and `npm run fuzz` draw.
 * The unit test that pins the behaviour down is named with each.
 */
import { runProgram } from './driver.js';
import type { Op, Program, TaskSpec } from './program.js';

const syncOk: TaskSpec = { kind: 'sync', ok: true, value: 'undefined' };
const syncFail: TaskSpec = { kind: 'sync', ok: false, value: 'undefined' };
const submit = (task: TaskSpec, timeout?: number): Op => ({ type: 'submit', task, via: 'submit', priority: undefined, timeout, signal: 'none' });

const programs: { name: string; program: Program }[] = [
  {
    // Seed 75500029. Unit test: faults.spec.ts, "a done callback that submits while a queued task waits".
    name: "a done callback's submit starts a queued task whose callback shuts down with cancelFutures: the new future is cancelled",
    program: {
      maxWorkers: 1,
      taskTimeout: undefined,
      ops: [
        {
          type: 'map',
          items: [syncOk, syncOk, syncOk],
          input: 'sync',
          throwAt: undefined,
          zipLength: 3,
          bufferSize: 1,
          ordered: true,
          timeout: undefined,
          signal: false,
          breakAfter: undefined,
        },
        submit(syncFail),
        submit(syncFail),
        submit({ kind: 'signal', ok: false, value: 'undefined' }),
        submit(syncOk, 0),
        { type: 'callback', pick: 671, action: 'shutdown', task: syncOk, target: 0, cancelFutures: true },
        { type: 'callback', pick: 299, action: 'submit', task: syncOk, target: 0, cancelFutures: false },
        { type: 'asCompleted', picks: [], timeout: undefined, breakAfter: undefined },
        submit(syncOk),
        { type: 'result', pick: 0, method: 'result', timeout: 0 },
        { type: 'onIdle' },
        submit(syncOk),
      ],
    },
  },
];

describe('generated programs that once failed', () => {
  for (const { name, program } of programs) {
    it(name, async () => {
      // Mocha starts this test's timeout timer once the test function returns its promise:
      // let that happen first, or runProgram would count the timer as one the program left.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await runProgram(program);
    });
  }
});
