/** Properties of the policies' pure parts, over random time lines and random options. */
import { expect } from 'chai';
import fc from 'fast-check';
import { CircuitBreaker, type CircuitState } from '../../lib/index.js';
import { RateLimiter } from '../../lib/policies/rate-limit.js';
import { RetryPolicy, type Jitter } from '../../lib/policies/retry.js';

describe('policies: properties', () => {
  it('a rate limiter never lets more than limit starts into any window of interval ms', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 200 }),
        // Each step: how long until the next start attempt, and whether a held-back attempt
        // comes back exactly when `delay` says (as the scheduler's timer does) or gives up.
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 120 }), waits: fc.boolean() }), { maxLength: 80, size: 'max' }),
        (limit, interval, steps) => {
          const limiter = new RateLimiter({ limit, interval });
          const starts: number[] = [];
          let now = 0;
          for (const { gap, waits } of steps) {
            now += gap;
            let delay = limiter.delay(now);
            expect(delay).to.be.at.least(0);
            if (delay > 0 && waits) {
              now += delay;
              delay = limiter.delay(now);
              // Coming back when told is enough: the start is then allowed.
              expect(delay).to.equal(0);
            }
            if (delay === 0) {
              limiter.take(now);
              starts.push(now);
            }
          }
          for (const first of starts) {
            const inWindow = starts.filter((start) => start >= first && start < first + interval).length;
            expect(inWindow, `starts ${starts.join(', ')}`).to.be.at.most(limit);
          }
        },
      ),
    );
  });

  it('a rate limiter allows a start as soon as the window has room (no start is held back for nothing)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 100 }), fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 40, size: 'max' }), (limit, interval, gaps) => {
        const limiter = new RateLimiter({ limit, interval });
        const starts: number[] = [];
        let now = 0;
        for (const gap of gaps) {
          now += gap;
          const recent = starts.filter((start) => start > now - interval).length;
          expect(limiter.delay(now) === 0).to.equal(recent < limit);
          if (limiter.delay(now) === 0) {
            limiter.take(now);
            starts.push(now);
          }
        }
      }),
    );
  });

  type Op = { kind: 'advance'; ms: number } | { kind: 'acquire' } | { kind: 'release'; index: number; outcome: 'success' | 'failure' | 'ignore' };

  const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }),
    fc.record({ kind: fc.constant('acquire' as const) }),
    fc.record({ kind: fc.constant('release' as const), index: fc.nat(), outcome: fc.constantFrom('success' as const, 'failure' as const, 'ignore' as const) }),
  );

  it('a breaker never lets a task start while open, and has at most one probe in flight while half-open', () => {
    fc.assert(
      fc.property(
        fc.record({
          consecutiveFailures: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
          failureRatio: fc.option(fc.double({ min: 0.1, max: 1, noNaN: true }), { nil: undefined }),
          halfOpenAfter: fc.integer({ min: 0, max: 100 }),
          successThreshold: fc.integer({ min: 1, max: 3 }),
        }),
        fc.array(opArbitrary, { minLength: 20, maxLength: 150, size: 'max' }),
        (options, ops) => {
          const { consecutiveFailures, failureRatio, halfOpenAfter, successThreshold } = options;
          const breaker = new CircuitBreaker({
            ...(consecutiveFailures === undefined && failureRatio === undefined ? { consecutiveFailures: 1 } : { consecutiveFailures }),
            ...(failureRatio === undefined ? {} : { failureRatio, minimumThroughput: 2, window: 100 }),
            halfOpenAfter,
            successThreshold,
          });
          let state = 'closed' as CircuitState;
          let openedAt = 0;
          breaker.onStateChange((next, previous) => {
            expect(previous).to.equal(state);
            state = next;
          });
          let now = 0;
          const inFlight: ('start' | 'probe')[] = [];
          for (const op of ops) {
            if (op.kind === 'advance') now += op.ms;
            else if (op.kind === 'acquire') {
              const before = state;
              const permit = breaker.acquire(now);
              if (permit === 'start') expect(state).to.equal('closed');
              if (permit === 'probe') expect(state).to.equal('half-open');
              if (permit === 'refuse') expect(state).to.equal('open');
              if (permit === 'wait') expect(inFlight).to.include('probe');
              // Open stays open until halfOpenAfter has passed.
              if (before === 'open' && now - openedAt < halfOpenAfter) expect(permit).to.equal('refuse');
              if (permit === 'start' || permit === 'probe') inFlight.push(permit);
            } else if (inFlight.length > 0) {
              const [permit] = inFlight.splice(op.index % inFlight.length, 1);
              const before = state;
              breaker.release(permit!, op.outcome, now);
              if (before !== 'open' && state === 'open') openedAt = now;
            }
            expect(inFlight.filter((permit) => permit === 'probe').length).to.be.at.most(1);
            if (state === 'open') expect(inFlight).not.to.include('probe');
          }
        },
      ),
    );
  });

  it('retry delays stay within their formula', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000 }),
        fc.integer({ min: 0, max: 50_000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.constantFrom<Jitter>('full', 'equal', 'decorrelated', 'none'),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: undefined }),
        (initial, extra, factor, jitter, attempt, random, previous) => {
          const max = initial + extra;
          const retry = new RetryPolicy({ attempts: 50, backoff: { initial, max, factor, jitter } }, () => random);
          const delay = retry.delay(attempt, new Error('x'), previous)!;
          const d = Math.min(max, initial * factor ** (attempt - 1));
          const epsilon = 1e-6;
          expect(delay).to.be.a('number').and.at.least(0).and.at.most(max + epsilon);
          if (jitter === 'none') expect(delay).to.equal(d);
          if (jitter === 'full') expect(delay).to.be.at.most(d + epsilon);
          if (jitter === 'equal') expect(delay).to.be.within(d / 2 - epsilon, d + epsilon);
          if (jitter === 'decorrelated') {
            expect(delay).to.be.at.least(Math.min(max, initial) - epsilon);
            expect(delay).to.be.at.most(Math.min(max, Math.max(initial, (previous ?? initial) * 3)) + epsilon);
          }
        },
      ),
    );
  });
});
