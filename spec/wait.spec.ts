import { expect } from 'chai';
import { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, Future, ReturnWhen, wait } from '../lib/index.js';
import { callbackSpy, flush, gate, gated, pool } from './helpers.js';

describe('wait', () => {
  it('exports the returnWhen constants', () => {
    expect(ReturnWhen).to.deep.equal({ FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED });
    expect([FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED]).to.deep.equal(['FIRST_COMPLETED', 'FIRST_EXCEPTION', 'ALL_COMPLETED']);
  });

  it('ALL_COMPLETED (the default) resolves once every future has settled, whatever the outcome', async () => {
    const { gates, futures } = gated(3);
    let resolved = false;
    const waiting = wait(futures).then((result) => {
      resolved = true;
      return result;
    });
    gates[0]!.resolve(0);
    gates[1]!.reject(new Error('one'));
    await flush();
    expect(resolved).to.equal(false);
    futures[2]!.cancel();
    const { done, notDone } = await waiting;
    expect([...done]).to.have.members(futures);
    expect(notDone.size).to.equal(0);
  });

  it('FIRST_COMPLETED resolves when any future settles', async () => {
    const { gates, futures } = gated(3);
    const waiting = wait(futures, { returnWhen: FIRST_COMPLETED });
    gates[1]!.resolve(1);
    const { done, notDone } = await waiting;
    expect([...done]).to.have.ordered.members([futures[1]]);
    expect([...notDone]).to.have.members([futures[0], futures[2]]);
  });

  it('FIRST_COMPLETED counts a cancellation as completion', async () => {
    const { futures } = gated(2);
    const waiting = wait(futures, { returnWhen: 'FIRST_COMPLETED' });
    futures[0]!.cancel();
    expect([...(await waiting).done]).to.have.ordered.members([futures[0]]);
  });

  it('FIRST_EXCEPTION resolves at the first rejection, not at a fulfilment or a cancellation', async () => {
    const { gates, futures } = gated(4);
    let resolved = false;
    const waiting = wait(futures, { returnWhen: FIRST_EXCEPTION }).then((result) => {
      resolved = true;
      return result;
    });
    gates[0]!.resolve(0);
    futures[1]!.cancel();
    await flush();
    expect(resolved).to.equal(false);
    gates[2]!.reject(undefined);
    const { done, notDone } = await waiting;
    expect([...done]).to.have.members([futures[0], futures[1], futures[2]]);
    expect([...notDone]).to.have.ordered.members([futures[3]]);
  });

  it('FIRST_EXCEPTION waits for all when none rejects', async () => {
    const { gates, futures } = gated(2);
    const waiting = wait(futures, { returnWhen: FIRST_EXCEPTION });
    gates[0]!.resolve(0);
    await flush();
    gates[1]!.resolve(1);
    const { done, notDone } = await waiting;
    expect(done.size).to.equal(2);
    expect(notDone.size).to.equal(0);
  });

  it('FIRST_EXCEPTION resolves at once when a future has already failed', async () => {
    const { futures } = gated(2);
    const failed = pool().submit(() => {
      throw new Error('early');
    });
    const { done, notDone } = await wait([...futures, failed], { returnWhen: FIRST_EXCEPTION });
    expect([...done]).to.have.ordered.members([failed]);
    expect(notDone.size).to.equal(2);
  });

  it('resolves at the timeout with what is done, cancelling nothing', async () => {
    const { gates, futures } = gated(3);
    gates[0]!.resolve(0);
    await flush();
    const { done, notDone } = await wait(futures, { timeout: 5 });
    expect([...done]).to.have.ordered.members([futures[0]]);
    expect([...notDone]).to.have.members([futures[1], futures[2]]);
    expect(futures.map((future) => future.state)).to.deep.equal(['fulfilled', 'running', 'running']);
  });

  it('with timeout 0 resolves with the current state without waiting', async () => {
    const { gates, futures } = gated(2);
    gates[0]!.resolve(0);
    await flush();
    const spy = callbackSpy(futures as Future<unknown>[]);
    try {
      const { done, notDone } = await wait(futures, { timeout: 0 });
      expect([...done]).to.have.ordered.members([futures[0]]);
      expect([...notDone]).to.have.ordered.members([futures[1]]);
      expect(spy.added(futures[1] as Future<unknown>)).to.equal(0);
    } finally {
      spy.restore();
    }
  });

  it('counts duplicates once', async () => {
    const { gates, futures } = gated(2);
    const waiting = wait([futures[0]!, futures[0]!, futures[1]!, futures[1]!]);
    gates[0]!.resolve(0);
    gates[1]!.resolve(1);
    const { done } = await waiting;
    expect(done.size).to.equal(2);
  });

  it('accepts plain promises and thenables, each wrapped once per call (not the wrapper Future.from caches)', async () => {
    const promise = Promise.resolve('p');
    const pending = gate<string>();
    const thenable: PromiseLike<string> = { then: (onfulfilled) => Promise.resolve('t').then(onfulfilled) };
    const first = await wait([promise, promise, thenable, pending.promise], { returnWhen: FIRST_COMPLETED });
    expect(await Promise.all([...first.done])).to.include('p');
    expect(first.notDone.size).to.be.at.least(1);
    expect(first.done.size + first.notDone.size).to.equal(3);
    for (const future of [...first.done, ...first.notDone]) expect(future).not.to.equal(Future.from(promise));
    pending.resolve('late');
    const all = await wait([promise, thenable, pending.promise]);
    expect(await Promise.all([...all.done])).to.have.members(['p', 't', 'late']);
  });

  it('resolves at once for futures that are already done, and for no futures', async () => {
    const executor = pool();
    const done = [executor.submit(() => 1), executor.submit(() => Promise.reject(new Error('x')).catch(() => 2))];
    await flush();
    const result = await wait(done, { returnWhen: ALL_COMPLETED });
    expect(result.done.size).to.equal(2);
    expect(result.notDone.size).to.equal(0);
    const empty = await wait([]);
    expect(empty.done.size + empty.notDone.size).to.equal(0);
    const emptyFirst = await wait([], { returnWhen: FIRST_EXCEPTION, timeout: 10 });
    expect(emptyFirst.done.size).to.equal(0);
  });

  it('accepts any iterable, a generator included', async () => {
    const { gates, futures } = gated(2);
    function* all(): Generator<Future<number>> {
      yield* futures;
    }
    const waiting = wait(all());
    gates[0]!.resolve(0);
    gates[1]!.resolve(1);
    expect((await waiting).done.size).to.equal(2);
  });

  it('leaves no done callback attached once it resolves, and its sets stop changing', async () => {
    const { gates, futures } = gated(4);
    const spy = callbackSpy(futures as Future<unknown>[]);
    try {
      const firstCompleted = wait(futures, { returnWhen: FIRST_COMPLETED });
      expect(spy.attached()).to.equal(4);
      gates[0]!.resolve(0);
      const first = await firstCompleted;
      expect(spy.attached()).to.equal(0);

      const timedOut = await wait(futures, { timeout: 1 });
      expect(spy.attached()).to.equal(0);
      const notDone = [...timedOut.notDone];
      gates[1]!.reject(new Error('later'));
      await flush();
      expect([...timedOut.notDone]).to.deep.equal(notDone);
      expect(first.done.size).to.equal(1);

      const firstException = await wait(futures, { returnWhen: FIRST_EXCEPTION });
      expect([...firstException.done]).to.have.members([futures[0], futures[1]]);
      expect(spy.attached()).to.equal(0);
    } finally {
      spy.restore();
    }
  });

  it('leaves no timer behind once it resolves early', async () => {
    const { gates, futures } = gated(1);
    const realClear = globalThis.clearTimeout;
    let cleared = 0;
    globalThis.clearTimeout = ((handle: Parameters<typeof clearTimeout>[0]) => {
      if (handle !== undefined) cleared++;
      realClear(handle);
    }) as typeof clearTimeout;
    try {
      const waiting = wait(futures, { timeout: 60_000 });
      gates[0]!.resolve(0);
      await waiting;
    } finally {
      globalThis.clearTimeout = realClear;
    }
    expect(cleared).to.equal(1);
  });

  describe('arguments', () => {
    it('rejects a non-iterable futures argument', () => {
      expect(() => wait(null as never)).to.throw(TypeError, /'futures' must be an iterable: current value is null/);
      expect(() => wait(5 as never)).to.throw(TypeError, /'futures' must be an iterable: current value is 5/);
    });

    it('names an item that is neither a future nor a promise by its position', () => {
      const future = pool().submit(() => 1);
      expect(() => wait([future, 42 as never])).to.throw(TypeError, /'futures\[1\]' must be a future or promise: current value is 42/);
    });

    it('rejects a bad returnWhen, timeout or option', () => {
      expect(() => wait([], { returnWhen: 'FIRST' as never })).to.throw(TypeError, /'returnWhen' must be .*current value is "FIRST"/);
      expect(() => wait([], { timeout: -1 })).to.throw(RangeError, /'timeout' must be a non-negative number of milliseconds: current value is -1/);
      expect(() => wait([], { timeout: NaN })).to.throw(RangeError, /'timeout'.*NaN/);
      expect(() => wait([], { timeout: '1' as never })).to.throw(TypeError, /'timeout'.*"1"/);
      expect(() => wait([], { return_when: 'ALL_COMPLETED' } as never)).to.throw(TypeError, /unknown key "return_when"/);
      expect(() => wait([], 5 as never)).to.throw(TypeError, /'options' must be an object/);
    });
  });
});
