import { expect } from 'chai';
import { BrokenCircuitError, CancelledError, CircuitBreaker, CircuitState, TaskPoolExecutor, TimeoutError, type CircuitBreakerOptions } from '../../lib/index.js';
import { FakeClock } from '../reliability/clock.js';

type Change = [string, string];

/** A breaker whose state changes are recorded. */
function watched(options: CircuitBreakerOptions): { breaker: CircuitBreaker; changes: Change[] } {
  const breaker = new CircuitBreaker(options);
  const changes: Change[] = [];
  breaker.onStateChange((state, previous) => changes.push([previous, state]));
  return { breaker, changes };
}

/** Starts a task at `now` and ends it with `outcome`; returns what acquire said. */
function call(breaker: CircuitBreaker, now: number, outcome: 'success' | 'failure' | 'ignore'): string {
  const permit = breaker.acquire(now);
  if (permit === 'start' || permit === 'probe') breaker.release(permit, outcome, now);
  return permit;
}

describe('policies: circuit breaker', () => {
  describe('options', () => {
    const ACTION = 'Cannot create CircuitBreaker as';
    const cases: [unknown, typeof TypeError, string][] = [
      [{ consecutiveFailures: 5 }, TypeError, `${ACTION} 'halfOpenAfter' must be a non-negative finite number of milliseconds: current value is undefined`],
      [{ halfOpenAfter: 1_000 }, TypeError, `${ACTION} 'consecutiveFailures' or 'failureRatio' must be given: current value is undefined`],
      [{ consecutiveFailures: 0, halfOpenAfter: 1_000 }, RangeError, `${ACTION} 'consecutiveFailures' must be a positive integer: current value is 0`],
      [{ failureRatio: 0, halfOpenAfter: 1_000 }, RangeError, `${ACTION} 'failureRatio' must be a number above 0 and at most 1: current value is 0`],
      [{ failureRatio: 1.5, halfOpenAfter: 1_000 }, RangeError, `${ACTION} 'failureRatio' must be a number above 0 and at most 1: current value is 1.5`],
      [{ failureRatio: '50%', halfOpenAfter: 1_000 }, TypeError, `${ACTION} 'failureRatio' must be a number above 0 and at most 1: current value is "50%"`],
      [{ failureRatio: 0.5, minimumThroughput: 0, halfOpenAfter: 1_000 }, RangeError, `${ACTION} 'minimumThroughput' must be a positive integer: current value is 0`],
      [{ failureRatio: 0.5, window: 0, halfOpenAfter: 1_000 }, RangeError, `${ACTION} 'window' must be a positive finite number of milliseconds: current value is 0`],
      [{ consecutiveFailures: 3, minimumThroughput: 5, halfOpenAfter: 1_000 }, TypeError, `${ACTION} 'minimumThroughput' must be given only with 'failureRatio': current value is 5`],
      [{ consecutiveFailures: 3, window: 5_000, halfOpenAfter: 1_000 }, TypeError, `${ACTION} 'window' must be given only with 'failureRatio': current value is 5000`],
      [{ consecutiveFailures: 3, halfOpenAfter: -1 }, RangeError, `${ACTION} 'halfOpenAfter' must be a non-negative finite number of milliseconds: current value is -1`],
      [{ consecutiveFailures: 3, halfOpenAfter: 1_000, successThreshold: 0 }, RangeError, `${ACTION} 'successThreshold' must be a positive integer: current value is 0`],
      [{ consecutiveFailures: 3, halfOpenAfter: 1_000, isFailure: true }, TypeError, `${ACTION} 'isFailure' must be a function: current value is true`],
      [{ consecutiveFailures: 3, halfOpenAfter: 1_000, threshold: 2 }, TypeError, `${ACTION} 'options' has an unknown key "threshold": the known keys are 'consecutiveFailures', 'failureRatio', 'minimumThroughput', 'window', 'halfOpenAfter', 'successThreshold', 'isFailure'`],
      [undefined, TypeError, `${ACTION} 'options' must be an object: current value is undefined`],
      [7, TypeError, `${ACTION} 'options' must be an object: current value is 7`],
    ];
    for (const [options, ErrorType, message] of cases) {
      it(`throws ${ErrorType.name} for ${JSON.stringify(options) ?? String(options)}`, () => {
        expect(() => new CircuitBreaker(options as CircuitBreakerOptions))
          .to.throw(ErrorType)
          .with.property('message', message);
      });
    }

    it('accepts both conditions together', () => {
      expect(new CircuitBreaker({ consecutiveFailures: 3, failureRatio: 0.5, minimumThroughput: 4, window: 1_000, halfOpenAfter: 0 }).state).to.equal('closed');
    });

    it("an executor refuses a breaker that is not one, naming what it got: an object of another class by its class", () => {
      class Breaker {
        state = 'closed';
      }
      expect(() => new TaskPoolExecutor({ name: 'b', breaker: new Breaker() as never }))
        .to.throw(TypeError)
        .with.property('message', "Cannot create TaskPoolExecutor as 'breaker' must be a CircuitBreaker: current value is Breaker {\"state\":\"closed\"}");
    });

    it('rejects a listener that is no function', () => {
      const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 10 });
      expect(() => breaker.onStateChange(5 as never)).to.throw(TypeError, "Cannot listen to a CircuitBreaker as 'listener' must be a function: current value is 5");
    });
  });

  describe('consecutive failures', () => {
    it('opens after that many failures in a row; a success resets the count', () => {
      const { breaker, changes } = watched({ consecutiveFailures: 3, halfOpenAfter: 1_000 });
      expect(call(breaker, 0, 'failure')).to.equal('start');
      call(breaker, 0, 'failure');
      call(breaker, 0, 'success');
      call(breaker, 0, 'failure');
      call(breaker, 0, 'failure');
      expect(breaker.acquire(0)).to.equal('start');
      expect(changes).to.deep.equal([]);
      breaker.release('start', 'failure', 0);
      expect(changes).to.deep.equal([['closed', 'open']]);
      expect(breaker.acquire(1)).to.equal('refuse');
    });

    it('does not count cancellations or what isFailure rejects', () => {
      const breaker = new CircuitBreaker({ consecutiveFailures: 2, halfOpenAfter: 1_000, isFailure: (error) => !(error instanceof TypeError) });
      expect(breaker.classify(new CancelledError())).to.equal('ignore');
      expect(breaker.classify(new TypeError('bad input'))).to.equal('ignore');
      expect(breaker.classify(new TimeoutError())).to.equal('failure');
      expect(breaker.classify(undefined)).to.equal('failure');
      call(breaker, 0, 'failure');
      call(breaker, 0, breaker.classify(new CancelledError()));
      call(breaker, 0, breaker.classify(new TypeError('bad input')));
      expect(breaker.acquire(0)).to.equal('start');
      breaker.release('start', 'failure', 0);
      expect(breaker.acquire(0)).to.equal('refuse');
    });

    it('counts a CancelledError as ignored even when isFailure would say failure', () => {
      expect(new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 0, isFailure: () => true }).classify(new CancelledError())).to.equal('ignore');
    });

    it('counts an error as a failure when isFailure throws', () => {
      const breaker = new CircuitBreaker({
        consecutiveFailures: 1,
        halfOpenAfter: 0,
        isFailure: () => {
          throw new Error('broken predicate');
        },
      });
      const original = console.error;
      const reported: unknown[] = [];
      console.error = (...args: unknown[]) => void reported.push(args);
      try {
        expect(breaker.classify(new Error('x'))).to.equal('failure');
      } finally {
        console.error = original;
      }
      expect(reported).to.have.length(1);
    });
  });

  describe('failure ratio', () => {
    it('opens when the ratio is reached over at least minimumThroughput calls in the window', () => {
      const breaker = new CircuitBreaker({ failureRatio: 0.5, minimumThroughput: 4, window: 1_000, halfOpenAfter: 500 });
      call(breaker, 0, 'failure');
      call(breaker, 10, 'failure');
      call(breaker, 20, 'success');
      expect(breaker.acquire(30)).to.equal('start');
      // Three calls so far: under minimumThroughput, whatever the ratio.
      breaker.release('start', 'success', 30);
      expect(breaker.acquire(40)).to.equal('start');
      breaker.release('start', 'failure', 40);
      // 3 failures of 5 ≥ 0.5.
      expect(breaker.acquire(40)).to.equal('refuse');
    });

    it('forgets calls that left the window', () => {
      const breaker = new CircuitBreaker({ failureRatio: 0.5, minimumThroughput: 2, window: 100, halfOpenAfter: 500 });
      call(breaker, 0, 'failure');
      call(breaker, 150, 'success');
      call(breaker, 160, 'success');
      // The failure at 0 has left the window: 1 failure of 3 would not open it either.
      call(breaker, 170, 'failure');
      expect(breaker.acquire(170)).to.equal('start');
      breaker.release('start', 'failure', 170);
      // 2 of 4 in (70, 170].
      expect(breaker.acquire(171)).to.equal('refuse');
    });

    it('keeps counting right over many calls, as old ones leave the window', () => {
      const breaker = new CircuitBreaker({ failureRatio: 0.5, minimumThroughput: 10, window: 100, halfOpenAfter: 500 });
      // 3 000 calls, one failure in three: never half failed.
      for (let i = 0; i < 3_000; i++) expect(call(breaker, i, i % 3 === 0 ? 'failure' : 'success'), `call ${i}`).to.equal('start');
      // Then failures only, one a millisecond: the window holds the last 100 calls, and the 25th
      // failure makes them half failed (25 new ones + 25 of the 75 older ones).
      for (let i = 0; i < 24; i++) call(breaker, 3_000 + i, 'failure');
      expect(breaker.acquire(3_024)).to.equal('start');
      breaker.release('start', 'failure', 3_024);
      expect(breaker.acquire(3_024)).to.equal('refuse');
    });

    it('uses the documented defaults: 10 calls, 30 s', () => {
      const breaker = new CircuitBreaker({ failureRatio: 1, halfOpenAfter: 500 });
      for (let i = 0; i < 9; i++) call(breaker, i * 3_000, 'failure');
      expect(breaker.acquire(27_000)).to.equal('start');
      breaker.release('start', 'failure', 29_999);
      expect(breaker.acquire(29_999)).to.equal('refuse');
      const later = new CircuitBreaker({ failureRatio: 1, halfOpenAfter: 500 });
      for (let i = 0; i < 10; i++) call(later, i * 3_400, 'failure');
      expect(later.acquire(30_600)).to.equal('start');
    });
  });

  describe('open and half-open', () => {
    it('refuses until halfOpenAfter, then lets one probe through at a time', () => {
      const { breaker, changes } = watched({ consecutiveFailures: 1, halfOpenAfter: 1_000 });
      call(breaker, 100, 'failure');
      expect(breaker.acquire(1_099)).to.equal('refuse');
      expect(breaker.acquire(1_100)).to.equal('probe');
      expect(breaker.acquire(1_100)).to.equal('wait');
      expect(breaker.acquire(5_000)).to.equal('wait');
      expect(changes).to.deep.equal([
        ['closed', 'open'],
        ['open', 'half-open'],
      ]);
    });

    it('closes after successThreshold successful probes in a row', () => {
      const { breaker, changes } = watched({ consecutiveFailures: 1, halfOpenAfter: 10, successThreshold: 2 });
      call(breaker, 0, 'failure');
      expect(call(breaker, 10, 'success')).to.equal('probe');
      expect(breaker.acquire(11)).to.equal('probe');
      breaker.release('probe', 'success', 11);
      expect(changes.at(-1)).to.deep.equal(['half-open', 'closed']);
      expect(breaker.acquire(12)).to.equal('start');
    });

    it('opens again at a failed probe, and counts time from then', () => {
      const { breaker, changes } = watched({ consecutiveFailures: 1, halfOpenAfter: 10, successThreshold: 2 });
      call(breaker, 0, 'failure');
      call(breaker, 10, 'success');
      expect(call(breaker, 15, 'failure')).to.equal('probe');
      expect(breaker.acquire(16)).to.equal('refuse');
      expect(breaker.acquire(24)).to.equal('refuse');
      expect(breaker.acquire(25)).to.equal('probe');
      expect(changes.map(([, state]) => state)).to.deep.equal(['open', 'half-open', 'open', 'half-open']);
    });

    it('frees the probe slot of an ignored probe without deciding', () => {
      const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 0 });
      call(breaker, 0, 'failure');
      expect(call(breaker, 0, 'ignore')).to.equal('probe');
      expect(breaker.state).to.equal('half-open');
      expect(breaker.acquire(0)).to.equal('probe');
    });

    it('ignores late outcomes of calls that started while closed', () => {
      const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 10 });
      expect(breaker.acquire(0)).to.equal('start');
      expect(breaker.acquire(0)).to.equal('start');
      breaker.release('start', 'failure', 0);
      breaker.release('start', 'success', 1);
      expect(breaker.acquire(5)).to.equal('refuse');
      expect(breaker.acquire(10)).to.equal('probe');
      breaker.release('start', 'failure', 11);
      expect(breaker.acquire(11)).to.equal('wait');
    });

    it('moves to half-open when the state is read, on the library clock', () => {
      const clock = new FakeClock();
      clock.install();
      try {
        const { breaker, changes } = watched({ consecutiveFailures: 1, halfOpenAfter: 1_000 });
        call(breaker, Date.now(), 'failure');
        expect(breaker.state).to.equal(CircuitState.OPEN);
        clock.advance(999);
        expect(breaker.state).to.equal('open');
        clock.advance(1);
        expect(breaker.state).to.equal('half-open');
        expect(changes).to.deep.equal([
          ['closed', 'open'],
          ['open', 'half-open'],
        ]);
        expect(clock.pending).to.equal(0);
      } finally {
        clock.uninstall();
      }
    });
  });

  describe('listeners and wakers', () => {
    it('unsubscribes, and a throwing listener does not stop the others', () => {
      const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 0 });
      const heard: string[] = [];
      const unsubscribe = breaker.onStateChange((state) => heard.push(`a:${state}`));
      breaker.onStateChange(() => {
        throw new Error('listener bug');
      });
      breaker.onStateChange((state, previous) => heard.push(`b:${previous}>${state}`));
      const original = console.error;
      const reported: unknown[] = [];
      console.error = (...args: unknown[]) => void reported.push(args);
      try {
        call(breaker, 0, 'failure');
        unsubscribe();
        breaker.acquire(0);
      } finally {
        console.error = original;
      }
      expect(heard).to.deep.equal(['a:open', 'b:closed>open', 'b:open>half-open']);
      expect(reported).to.have.length(2);
    });

    it('wakes every subscriber when the probe slot frees or the state changes', () => {
      const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 10, successThreshold: 2 });
      let first = 0;
      let second = 0;
      breaker.subscribeWake(() => first++);
      const unsubscribe = breaker.subscribeWake(() => second++);
      call(breaker, 0, 'failure');
      expect([first, second]).to.deep.equal([1, 1]);
      expect(breaker.acquire(10)).to.equal('probe');
      expect([first, second]).to.deep.equal([2, 2]);
      unsubscribe();
      breaker.release('probe', 'success', 10);
      expect(first).to.equal(3);
      breaker.release(breaker.acquire(10) as 'probe', 'success', 10);
      expect([first, second]).to.deep.equal([4, 2]);
      expect(breaker.state).to.equal('closed');
    });

    it('reports a throwing waker and still wakes the others', () => {
      const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 0 });
      let woken = 0;
      breaker.subscribeWake(() => {
        throw new Error('waker bug');
      });
      breaker.subscribeWake(() => woken++);
      const original = console.error;
      const reported: unknown[] = [];
      console.error = (...args: unknown[]) => void reported.push(args);
      try {
        call(breaker, 0, 'failure');
      } finally {
        console.error = original;
      }
      expect(woken).to.equal(1);
      expect(reported).to.have.length(1);
    });

    it('names the executor and the time left in a refusal', () => {
      const breaker = new CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 1_000 });
      call(breaker, 100, 'failure');
      const error = breaker.refusal('fetchers', 400);
      expect(error).to.be.instanceOf(BrokenCircuitError);
      expect(error.name).to.equal('BrokenCircuitError');
      expect(error.message).to.equal("Cannot start a task on executor 'fetchers' as its circuit breaker is open: it lets a probe through in 700 ms");
    });
  });

  describe('BrokenCircuitError', () => {
    it('has its name, a default message, a cause, and a brand', () => {
      const cause = new Error('down');
      const error = new BrokenCircuitError(undefined, { cause });
      expect(error.name).to.equal('BrokenCircuitError');
      expect(error.message).to.equal('The circuit is open');
      expect(error.cause).to.equal(cause);
      expect(String(error)).to.equal('BrokenCircuitError: The circuit is open');
      const other = new Error('from the other build');
      Object.defineProperty(other, Symbol.for('taskpool.error.brand'), { value: { BrokenCircuitError: true } });
      expect(other).to.be.instanceOf(BrokenCircuitError);
      expect(new CancelledError()).not.to.be.instanceOf(BrokenCircuitError);
    });
  });
});
