/**
 * Generated programs for the policies' property test: executors with a rate limit, a circuit
 * breaker (sometimes shared by two executors) and a default retry; tasks run with random retry
 * policies, timeouts, deadlines, single-flight keys and signals; and, between them, releases of
 * hanging attempts, cancellations, aborts, clock advances and shutdowns.
 */
import fc from 'fast-check';
import type { Jitter } from '../../lib/index.js';

export type BackoffSpec =
  | { kind: 'fixed'; ms: number }
  | { kind: 'exponential'; initial: number; max: number; factor: number; jitter: Jitter }
  /** `delays[attempt - 1]`, `null` stops retrying (as a `Retry-After` that says no). */
  | { kind: 'function'; delays: (number | null)[] };

export interface RetrySpec {
  attempts: number;
  backoff: BackoffSpec | undefined;
  /** `'all'` retries everything, a refusal by an open breaker included; `notAfter` stops after that attempt. */
  retryIf: 'default' | 'all' | { notAfter: number };
}

/** What each call of a task does. */
export interface TaskScript {
  /** The first `failTimes` calls fail (`Infinity`: every call), later ones succeed. */
  failTimes: number;
  /** A hanging call waits until the program releases it; otherwise it settles on its own at once. */
  hang: boolean;
  /** A hanging call that honours its signal rejects with the signal's reason when it aborts. */
  respectsSignal: boolean;
}

export type Op =
  | {
      type: 'run';
      exec: number;
      script: TaskScript;
      /** `false`: `run(task)` without options, so the executor's defaults apply. */
      withOptions: boolean;
      /** `submit(fn)` instead of `run(task)` for a task without options that does not hang (it sees no signal). */
      via: 'run' | 'submit';
      retry: RetrySpec | undefined;
      timeout: number | undefined;
      deadline: number | undefined;
      key: string | undefined;
      signal: number | undefined;
      priority: number;
    }
  | { type: 'cancel'; pick: number }
  | { type: 'abort'; signal: number }
  | { type: 'release'; pick: number }
  | { type: 'advance'; ms: number }
  | { type: 'shutdown'; exec: number; wait: boolean; cancelFutures: boolean };

export interface BreakerSpec {
  consecutiveFailures: number;
  halfOpenAfter: number;
  successThreshold: number;
  /** With two executors: one breaker for both, or one each. */
  shared: boolean;
}

export interface Program {
  maxWorkers: number[];
  rateLimit: { limit: number; interval: number } | undefined;
  breaker: BreakerSpec | undefined;
  retry: RetrySpec | undefined;
  taskTimeout: number | undefined;
  /** Seeds the random numbers of the backoffs' jitter. */
  seed: number;
  ops: Op[];
}

const backoffArbitrary: fc.Arbitrary<BackoffSpec | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record({ kind: fc.constant('fixed' as const), ms: fc.integer({ min: 0, max: 20 }) }),
  fc
    .record({
      kind: fc.constant('exponential' as const),
      initial: fc.integer({ min: 1, max: 10 }),
      extra: fc.integer({ min: 0, max: 30 }),
      factor: fc.constantFrom(1, 1.5, 2, 3),
      jitter: fc.constantFrom<Jitter>('full', 'equal', 'decorrelated', 'none'),
    })
    .map(({ kind, initial, extra, factor, jitter }) => ({ kind, initial, max: initial + extra, factor, jitter })),
  fc.record({ kind: fc.constant('function' as const), delays: fc.array(fc.option(fc.integer({ min: 0, max: 25 }), { freq: 5 }), { minLength: 3, maxLength: 3 }) }),
);

export const retryArbitrary: fc.Arbitrary<RetrySpec> = fc.record({
  attempts: fc.integer({ min: 1, max: 4 }),
  backoff: backoffArbitrary,
  retryIf: fc.oneof(
    { arbitrary: fc.constant<'default'>('default'), weight: 3 },
    { arbitrary: fc.constant<'all'>('all'), weight: 1 },
    { arbitrary: fc.record({ notAfter: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
  ),
});

const scriptArbitrary: fc.Arbitrary<TaskScript> = fc.record({
  failTimes: fc.constantFrom(0, 0, 1, 1, 2, 3, Infinity),
  hang: fc.constantFrom(true, true, false),
  respectsSignal: fc.boolean(),
});

/** `arbitrary`'s value `percent`% of the time, otherwise `undefined`. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(undefined) }, { weight: percent, arbitrary });
}

function opArbitrary(executors: number): fc.Arbitrary<Op> {
  const exec = fc.integer({ min: 0, max: executors - 1 });
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        type: fc.constant('run' as const),
        exec,
        script: scriptArbitrary,
        withOptions: fc.boolean(),
        via: fc.constantFrom<'run' | 'submit'>('run', 'run', 'submit'),
        retry: sometimes(retryArbitrary, 60),
        timeout: sometimes(fc.integer({ min: 1, max: 40 }), 25),
        deadline: sometimes(fc.integer({ min: 1, max: 80 }), 25),
        key: sometimes(fc.constantFrom('a', 'a', 'b'), 40),
        signal: sometimes(fc.integer({ min: 0, max: 2 }), 25),
        priority: fc.constantFrom(0, 0, 1),
      }),
    },
    { weight: 5, arbitrary: fc.record({ type: fc.constant('release' as const), pick: fc.nat(20) }) },
    { weight: 5, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 60 })) }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('cancel' as const), pick: fc.nat(30) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('abort' as const), signal: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('shutdown' as const), exec, wait: fc.boolean(), cancelFutures: fc.boolean() }) },
  );
}

export function programArbitrary({ minOps, maxOps }: { minOps: number; maxOps: number }): fc.Arbitrary<Program> {
  return fc.integer({ min: 1, max: 2 }).chain((executors) =>
    fc.record({
      maxWorkers: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: executors, maxLength: executors }),
      rateLimit: sometimes(fc.record({ limit: fc.integer({ min: 1, max: 3 }), interval: fc.integer({ min: 2, max: 40 }) }), 60),
      breaker: sometimes(
        fc.record({
          consecutiveFailures: fc.integer({ min: 1, max: 3 }),
          halfOpenAfter: fc.integer({ min: 5, max: 60 }),
          successThreshold: fc.integer({ min: 1, max: 2 }),
          shared: fc.boolean(),
        }),
        60,
      ),
      retry: sometimes(retryArbitrary, 40),
      taskTimeout: sometimes(fc.integer({ min: 1, max: 40 }), 20),
      seed: fc.integer(),
      ops: fc.array(opArbitrary(executors), { minLength: minOps, maxLength: maxOps }),
    }),
  );
}
