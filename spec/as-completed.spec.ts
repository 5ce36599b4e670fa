import { expect } from 'chai';
import { CancelledError, Future, TimeoutError, asCompleted, err, ok, settle, type Completion } from '../lib/index.js';
import { callbackSpy, flush, gate, gated, liveTimersAfter, pool } from './helpers.js';


async function collect<T>(iterator: AsyncIterator<Completion<T>>): Promise<{ items: Completion<T>[]; error?: unknown }> {
  const items: Completion<T>[] = [];
  try {
    for (;;) {
      const step = await iterator.next();
      if (step.done) return { items };
      items.push(step.value);
    }
  } catch (error) {
    return { items, error };
  }
}

describe('asCompleted', () => {
  it('yields the futures already settled first, then in completion order', async () => {
    const { gates, futures } = gated(4);
    gates[2]!.resolve(2);
    gates[0]!.resolve(0);
    await flush();
    const iterator = asCompleted(futures);
    const collected = collect(iterator);
    await flush();
    gates[3]!.resolve(3);
    await flush();
    gates[1]!.resolve(1);
    const { items } = await collected;
    expect(items.map((item) => item.future)).to.have.ordered.members([futures[0], futures[2], futures[3], futures[1]]);
    expect(items.map((item) => item.result)).to.deep.equal([ok(0), ok(2), ok(3), ok(1)]);
  });

  it('yields { future, result } with Err for a rejection and Err(CancelledError) for a cancellation', async () => {
    const { gates, futures } = gated(3);
    const error = new Error('bad');
    const collected = collect(asCompleted(futures));
    gates[0]!.reject(error);
    await flush();
    futures[1]!.cancel();
    await flush();
    gates[2]!.reject(0);
    const { items } = await collected;
    expect(items[0]!.future).to.equal(futures[0]);
    expect(items[0]!.result).to.deep.equal(err(error));
    expect(items[1]!.future).to.equal(futures[1]);
    expect(items[1]!.result.ok).to.equal(false);
    expect(!items[1]!.result.ok && items[1]!.result.error).to.be.instanceOf(CancelledError);
    expect(items[2]!.future).to.equal(futures[2]);
    expect(items[2]!.result).to.deep.equal(err(0));
  });

  it('yields each future once, duplicates included', async () => {
    const { gates, futures } = gated(2);
    const collected = collect(asCompleted([futures[0]!, futures[1]!, futures[0]!, futures[1]!]));
    // One after the other: resolved in the same turn, which settles first depends on how many
    // microtask turns each path takes (async hooks add some).
    gates[1]!.resolve(1);
    await flush();
    gates[0]!.resolve(0);
    const { items } = await collected;
    expect(items.map((item) => item.future)).to.have.ordered.members([futures[1], futures[0]]);
  });

  it('accepts plain promises, each wrapped once per call in a future of its own (not the one Future.from caches)', async () => {
    const first = gate<string>();
    const second = Promise.resolve('b');
    const collected = collect(asCompleted([first.promise, second, second]));
    await flush();
    first.resolve('a');
    const { items } = await collected;
    expect(items.map((item) => item.result)).to.deep.equal([ok('b'), ok('a')]);
    for (const { future } of items) expect(future).to.be.instanceOf(Future);
    expect(items[0]!.future).to.not.equal(Future.from(second));
    expect(items[1]!.future).to.not.equal(Future.from(first.promise));
    expect(await items[0]!.future).to.equal('b');
  });

  it('ends at once for no futures', async () => {
    expect(await asCompleted([]).next()).to.deep.equal({ done: true, value: undefined });
  });

  it('throws TimeoutError when the deadline passes with futures pending, after yielding the settled ones; it cancels nothing', async () => {
    const { gates, futures } = gated(3);
    gates[1]!.resolve(1);
    await flush();
    const { items, error } = await collect(asCompleted(futures, { timeout: 5 }));
    expect(items.map((item) => item.future)).to.have.ordered.members([futures[1]]);
    expect(error).to.be.instanceOf(TimeoutError);
    expect((error as Error).message).to.equal("Cannot iterate futures as completed beyond its 'timeout' of 5 ms: 2 unfinished");
    expect(futures.map((future) => future.state)).to.deep.equal(['running', 'fulfilled', 'running']);
  });

  it('needs no timer when every future has already settled', async () => {
    const executor = pool();
    const futures = [executor.submit(() => 1), executor.submit(() => 2)];
    await Promise.all(futures);
    const left = await liveTimersAfter(async (live) => {
      const iterator = asCompleted(futures, { timeout: 0 });
      expect(live()).to.equal(0);
      expect((await collect(iterator)).items).to.have.length(2);
    });
    expect(left).to.equal(0);
  });

  it('stops its timer when the last future settles, before the loop ends', async () => {
    const { gates, futures } = gated(1);
    const left = await liveTimersAfter(async (live) => {
      const iterator = asCompleted(futures, { timeout: 60_000 });
      expect(live()).to.equal(1);
      gates[0]!.resolve(0);
      await flush();
      expect(live()).to.equal(0);
      expect((await iterator.next()).value?.result).to.deep.equal(ok(0));
    });
    expect(left).to.equal(0);
  });

  it('break detaches its callbacks and clears its timer', async () => {
    const { gates, futures } = gated(3);
    const spy = callbackSpy(futures as Future<unknown>[]);
    try {
      const left = await liveTimersAfter(async (live) => {
        const iterator = asCompleted(futures, { timeout: 60_000 });
        expect(spy.attached()).to.equal(3);
        expect(live()).to.equal(1);
        gates[2]!.resolve(2);
        for await (const { future } of iterator) {
          expect(future).to.equal(futures[2]);
          break;
        }
        expect(spy.attached()).to.equal(0);
      });
      expect(left).to.equal(0);
    } finally {
      spy.restore();
    }
  });

  it('return() while a next() is waiting ends that next() and detaches everything', async () => {
    const { futures } = gated(2);
    const spy = callbackSpy(futures as Future<unknown>[]);
    try {
      const left = await liveTimersAfter(async () => {
        const iterator = asCompleted(futures, { timeout: 60_000 });
        const waiting = iterator.next();
        await flush();
        expect(await iterator.return!()).to.deep.equal({ done: true, value: undefined });
        expect(await waiting).to.deep.equal({ done: true, value: undefined });
        expect(spy.attached()).to.equal(0);
        expect(await iterator.next()).to.deep.equal({ done: true, value: undefined });
      });
      expect(left).to.equal(0);
      expect(futures.every((future) => future.running())).to.equal(true);
    } finally {
      spy.restore();
    }
  });

  it('return() before the first next(), or await using, detaches everything', async () => {
    const { futures } = gated(2);
    const spy = callbackSpy(futures as Future<unknown>[]);
    try {
      const left = await liveTimersAfter(async () => {
        await asCompleted(futures, { timeout: 60_000 }).return!();
        expect(spy.attached()).to.equal(0);
        {
          await using iterator = asCompleted(futures, { timeout: 60_000 });
          expect(spy.attached()).to.equal(2);
          void iterator;
        }
        expect(spy.attached()).to.equal(0);
      });
      expect(left).to.equal(0);
    } finally {
      spy.restore();
    }
  });

  it('detaches everything when the consumer loop throws', async () => {
    const { gates, futures } = gated(2);
    const spy = callbackSpy(futures as Future<unknown>[]);
    const error = new Error('consumer');
    try {
      const left = await liveTimersAfter(async () => {
        gates[0]!.resolve(0);
        const loop = async (): Promise<void> => {
          for await (const completion of asCompleted(futures, { timeout: 60_000 })) {
            void completion;
            throw error;
          }
        };
        expect(await settle(loop())).to.deep.equal(err(error));
        expect(spy.attached()).to.equal(0);
      });
      expect(left).to.equal(0);
    } finally {
      spy.restore();
    }
  });

  it('return() from a done callback that runs first ignores the settlement under way', async () => {
    const { gates, futures } = gated(2);
    const holder: { iterator?: ReturnType<typeof asCompleted<number>> } = {};
    futures[0]!.addDoneCallback(() => void holder.iterator!.return!());
    const iterator = (holder.iterator = asCompleted(futures));
    const waiting = iterator.next();
    gates[0]!.resolve(0);
    expect(await waiting).to.deep.equal({ done: true, value: undefined });
  });

  it('throw() detaches everything and rejects with the error', async () => {
    const { futures } = gated(1);
    const spy = callbackSpy(futures as Future<unknown>[]);
    try {
      const iterator = asCompleted(futures);
      const error = new Error('stop');
      expect(await settle(iterator.throw!(error))).to.deep.equal(err(error));
      expect(spy.attached()).to.equal(0);
    } finally {
      spy.restore();
    }
  });

  it('is its own async iterator and says what it is', () => {
    const iterator = asCompleted([]);
    expect(iterator[Symbol.asyncIterator]()).to.equal(iterator);
    expect(Object.prototype.toString.call(iterator)).to.equal('[object AsCompletedIterator]');
  });

  describe('arguments', () => {
    it('rejects a non-iterable futures argument', () => {
      expect(() => asCompleted(undefined as never)).to.throw(TypeError, /'futures' must be an iterable: current value is undefined/);
      expect(() => asCompleted({} as never)).to.throw(TypeError, /'futures' must be an iterable: current value is \{\}/);
    });

    it('names an item that is neither a future nor a promise by its position', () => {
      expect(() => asCompleted([Promise.resolve(1), null as never])).to.throw(TypeError, /'futures\[1\]' must be a future or promise: current value is null/);
    });

    it('rejects a bad timeout or option', () => {
      expect(() => asCompleted([], { timeout: -5 })).to.throw(RangeError, /'timeout' must be a non-negative number of milliseconds: current value is -5/);
      expect(() => asCompleted([], { timeout: 'soon' as never })).to.throw(TypeError, /'timeout'.*"soon"/);
      expect(() => asCompleted([], { deadline: 5 } as never)).to.throw(TypeError, /unknown key "deadline"/);
    });
  });
});
