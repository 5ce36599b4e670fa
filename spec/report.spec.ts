/**
 * Reporting never throws: a done callback's error reaches `console.error` when it can, and
 * nothing else happens when it cannot (console.error throws, or formatting the error does).
 * The callbacks after it run, no unhandled rejection appears, and the executor keeps going.
 */
import { expect } from 'chai';
import { format } from 'node:util';
import { gate, pool } from './helpers.js';

/** Errors that throw when anything looks at them, each named for the report. */
function hostileErrors(): { readonly name: string; readonly error: () => unknown }[] {
  const fail = (): never => {
    throw new Error('looked at');
  };
  return [
    { name: 'a plain Error', error: () => new Error('callback failure') },
    {
      name: 'an Error whose stack getter throws',
      error: () => Object.defineProperty(new Error('stackless'), 'stack', { get: fail, configurable: true }),
    },
    { name: 'an object whose toString throws', error: () => ({ toString: fail }) },
    { name: 'an object whose Symbol.toPrimitive throws', error: () => ({ [Symbol.toPrimitive]: fail }) },
    {
      name: 'a Proxy that throws on every trap',
      error: () =>
        new Proxy(
          {},
          {
            get: fail,
            has: fail,
            ownKeys: fail,
            getOwnPropertyDescriptor: fail,
            getPrototypeOf: fail,
            defineProperty: fail,
            set: fail,
            deleteProperty: fail,
            isExtensible: fail,
            preventExtensions: fail,
            setPrototypeOf: fail,
          },
        ),
    },
  ];
}

/** Runs `body` with `console.error` replaced by `stub`, collecting unhandled rejections. */
async function withConsoleError(stub: (...args: unknown[]) => void, body: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown): void => void unhandled.push(reason);
  const original = console.error;
  process.on('unhandledRejection', listener);
  console.error = stub;
  try {
    await body();
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
  } finally {
    console.error = original;
    process.off('unhandledRejection', listener);
  }
  return unhandled;
}

/**
 * A pool of one worker whose first task's done callbacks are: record, throw `error`, record.
 * Settles the task, then checks the later callback ran, the queued task ran, `onIdle()`
 * resolved and a further task runs.
 */
async function throwingCallbackScenario(error: () => unknown): Promise<string[]> {
  const executor = pool({ maxWorkers: 1 });
  const first = gate<number>();
  const a = executor.submit(() => first.promise);
  const b = executor.submit(() => 2);
  const calls: string[] = [];
  a.addDoneCallback(() => calls.push('before'));
  a.addDoneCallback(() => {
    throw error();
  });
  a.addDoneCallback(() => calls.push('after'));
  first.resolve(1);
  await executor.onIdle();
  expect(await b).to.equal(2);
  expect(await executor.submit(() => 3)).to.equal(3);
  expect(executor.stats).to.include({ completed: 3, running: 0, pending: 0 });
  return calls;
}

describe('reporting a throwing done callback', () => {
  for (const { name, error } of hostileErrors()) {
    describe(`that throws ${name}`, () => {
      it('never throws while console.error throws: later callbacks run, onIdle() resolves, tasks keep running, no unhandled rejection', async () => {
        let attempts = 0;
        let calls: string[] = [];
        const unhandled = await withConsoleError(
          () => {
            attempts++;
            throw new Error('console.error is not allowed here');
          },
          async () => {
            calls = await throwingCallbackScenario(error);
          },
        );
        expect(calls).to.deep.equal(['before', 'after']);
        expect(attempts).to.be.within(1, 2);
        expect(unhandled).to.deep.equal([]);
      });

      it('is reported once, in a plain description when formatting the error throws', async () => {
        const lines: string[] = [];
        let calls: string[] = [];
        // Formats its arguments as the real console.error does, so a hostile error throws here.
        const unhandled = await withConsoleError(
          (...args: unknown[]) => void lines.push(format(...args)),
          async () => {
            calls = await throwingCallbackScenario(error);
          },
        );
        expect(calls).to.deep.equal(['before', 'after']);
        expect(unhandled).to.deep.equal([]);
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(/^taskpool: a done callback threw: /);
      });
    });
  }

  it('describes what it safely can when formatting throws: the name and message of an error', async () => {
    const lines: string[] = [];
    const hostile = Object.defineProperty(new TypeError('bad input'), 'stack', {
      get() {
        throw new Error('no stack');
      },
    });
    await withConsoleError(
      (...args: unknown[]) => void lines.push(format(...args)),
      async () => {
        await throwingCallbackScenario(() => hostile);
      },
    );
    expect(lines).to.deep.equal(['taskpool: a done callback threw: TypeError: bad input']);
  });
});
