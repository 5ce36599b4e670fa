/**
 * Runs one generated policies program (see program.ts) against real executors on the fake
 * clock, and checks the policies' guarantees as it goes:
 *
 * - starts in any window of `interval` ms never exceed `limit` (retries are starts);
 * - task functions in flight never exceed `maxWorkers`; `stats.running` is exactly the task
 *   functions in flight (a task waiting out a backoff holds no slot) and `stats.retrying`
 *   exactly the tasks in a backoff wait;
 * - a task is called at most `attempts` times, with `attempt` counting up (the futures that
 *   follow it say the same attempt);
 * - no task function starts while its breaker is open, and a half-open breaker has one probe
 *   in flight at a time; the breaker opens only for failures (never for cancellations), goes
 *   half-open only `halfOpenAfter` ms after it opened and closes only after enough probes succeeded;
 * - no task is held back with a slot free, room in the rate window and a closed breaker (a
 *   cancelled task uses no start);
 * - a task whose backoff ended queues again ahead of the tasks of its priority (nothing of its
 *   priority or lower starts before it);
 * - the futures of a single-flight task settle alike; the counts of completed, failed and
 *   cancelled tasks match the settled ones;
 * - no task function is called once every future that follows it has settled (cancelled in a
 *   backoff wait included), nor after its deadline; a task past its deadline has settled;
 * - `shutdown({ cancelFutures: true })` cancels every queued task and every task in a backoff
 *   wait at once; `shutdown({ wait: true })` resolves once nothing is pending, running or retrying;
 * - every future settles exactly once, and none hangs once every task is released and the
 *   clock has passed every timer; whenever everything is idle no timer is left, and at the end
 *   no abort listener is left on the callers' signals.
 *
 * Timers fire one at a time with the microtasks drained in between (as in Node), so that every
 * task function is called at the time its start was decided.
 */
import { getEventListeners } from 'node:events';
import { BrokenCircuitError, CircuitBreaker, ExecutorShutdownError, TaskPoolExecutor, TimeoutError, type Future, type RetryOptions, type RunOptions, type TaskContext } from '../../lib/index.js';
import { track } from '../helpers.js';
import { drainMicrotasks, StepClock } from './clock.js';
import type { Op, Program, RetrySpec, TaskScript } from './program.js';

/** A broken guarantee: the message says which, and where in the program. */
export class PolicyViolation extends Error {
  override name = 'PolicyViolation';
}

const turn = drainMicrotasks;

/** A small seeded generator (mulberry32) that stands in for `Math.random` during a program. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The delay the fake clock gives a timer of `ms` (as Node: below 1 ms counts as 1). */
function timerDelay(ms: number): number {
  return ms >= 1 ? Math.floor(ms) : 1;
}

/** One task: the futures that follow it (one, or several with a single-flight key) and its calls. */
interface Group {
  readonly id: number;
  readonly exec: number;
  readonly script: TaskScript;
  readonly attempts: number;
  readonly deadline: number | undefined;
  readonly futures: Future<unknown>[];
  calls: number;
  firstCall: number | undefined;
  /** When the backoff timer of the last retry falls due. */
  backoffDue: number | undefined;
  /** The fake clock's id of that timer, until the retry starts: once it is gone, the task is queued again. */
  backoffTimer: number | undefined;
  readonly priority: number;
}

/** One call of a task function. */
interface Call {
  readonly group: Group;
  readonly exec: number;
  readonly number: number;
  settled: boolean;
  /** Started while its breaker was half-open: a probe, until its attempt ends. */
  probe: boolean;
  /** The attempt ended for the scheduler: the function settled, or its signal aborted. */
  ended: boolean;
  /** A hanging call's way out. */
  settle: ((fail: boolean) => void) | undefined;
}

interface BreakerRecord {
  readonly breaker: CircuitBreaker;
  readonly consecutiveFailures: number;
  opensFromClosed: number;
  opensFromHalfOpen: number;
  /** Attempts that failed (an upper bound of what the breaker may count). */
  failures: number;
  /** Probes that succeeded (an upper bound), and how often it closed from half-open. */
  probeSuccesses: number;
  closes: number;
  openedAt: number;
}

interface ExecRecord {
  readonly executor: TaskPoolExecutor;
  readonly maxWorkers: number;
  readonly breaker: BreakerRecord | undefined;
  readonly starts: number[];
  inFlight: number;
  /** Whether `stats.retrying` can be checked exactly (false once a retry of unknown origin happened). */
  exact: boolean;
  shutdown: boolean;
  shutdownPromise: { resolved: boolean } | undefined;
}

export interface PolicySummary {
  tally: Map<string, number>;
}

export async function runPolicyProgram(program: Program): Promise<PolicySummary> {
  const driver = new Driver(program);
  const clock = new StepClock();
  const realRandom = Math.random;
  clock.install();
  Math.random = seededRandom(program.seed);
  try {
    await driver.run(clock);
  } finally {
    Math.random = realRandom;
    clock.uninstall();
  }
  return { tally: driver.tally };
}

class Driver {
  readonly tally = new Map<string, number>();
  readonly #program: Program;
  #clock!: StepClock;
  readonly #execs: ExecRecord[] = [];
  readonly #groups: Group[] = [];
  readonly #futures: { future: Future<unknown>; group: Group; callbacks: number }[] = [];
  readonly #calls: Call[] = [];
  readonly #controllers = [new AbortController(), new AbortController(), new AbortController()];
  /** Which task a failure belongs to, so that `onRetry` finds the task it retries. */
  readonly #errorGroup = new WeakMap<object, Group>();
  /** The task in flight for each executor and key, as the executor should see it. */
  readonly #flights = new Map<string, Group>();
  #opIndex = -1;
  /** The first violation: one found inside a callback of the library is thrown again at the next check. */
  #violation: PolicyViolation | undefined = undefined;

  constructor(program: Program) {
    this.#program = program;
  }

  #count(event: string): void {
    this.tally.set(event, (this.tally.get(event) ?? 0) + 1);
  }

  #fail(message: string): never {
    const where = this.#opIndex < this.#program.ops.length ? `op ${this.#opIndex} (${this.#program.ops[this.#opIndex]?.type})` : 'the end';
    this.#violation ??= new PolicyViolation(`at ${where}, time ${this.#clock.now}: ${message}`);
    throw this.#violation;
  }

  async run(clock: StepClock): Promise<void> {
    this.#clock = clock;
    const program = this.#program;
    const makeBreaker = (): BreakerRecord | undefined => {
      const spec = program.breaker;
      if (spec === undefined) return undefined;
      const breaker = new CircuitBreaker({ consecutiveFailures: spec.consecutiveFailures, halfOpenAfter: spec.halfOpenAfter, successThreshold: spec.successThreshold });
      const record: BreakerRecord = { breaker, consecutiveFailures: spec.consecutiveFailures, opensFromClosed: 0, opensFromHalfOpen: 0, failures: 0, probeSuccesses: 0, closes: 0, openedAt: 0 };
      breaker.onStateChange((state, previous) => {
        this.#count(`breaker ${previous} -> ${state}`);
        const now = this.#clock.now;
        if (state === 'half-open' && now - record.openedAt < spec.halfOpenAfter) {
          this.#fail(`the breaker went half-open at ${now}, ${now - record.openedAt} ms after it opened, with halfOpenAfter ${spec.halfOpenAfter}`);
        }
        if (state === 'closed') {
          record.closes++;
          if (record.closes * spec.successThreshold > record.probeSuccesses) {
            this.#fail(`the breaker closed ${record.closes} times with successThreshold ${spec.successThreshold} after ${record.probeSuccesses} probes succeeded`);
          }
        }
        if (state !== 'open') return;
        record.openedAt = now;
        if (previous === 'closed') record.opensFromClosed++;
        else record.opensFromHalfOpen++;
        if (record.opensFromClosed * record.consecutiveFailures + record.opensFromHalfOpen > record.failures) {
          this.#fail(`the breaker opened (${previous} -> open) with ${record.failures} failed attempts in all: it opened ${record.opensFromClosed} times when closed, ${record.opensFromHalfOpen} when half-open`);
        }
      });
      return record;
    };
    const shared = program.breaker?.shared === true ? makeBreaker() : undefined;
    for (const maxWorkers of program.maxWorkers) {
      const breaker = shared ?? makeBreaker();
      const exec = this.#execs.length;
      const executor = track(
        new TaskPoolExecutor({
          maxWorkers,
          rateLimit: program.rateLimit,
          breaker: breaker?.breaker,
          retry: program.retry === undefined ? undefined : this.#retryOptions(program.retry, exec),
          taskTimeout: program.taskTimeout,
        }),
      );
      this.#execs.push({ executor, maxWorkers, breaker, starts: [], inFlight: 0, exact: true, shutdown: false, shutdownPromise: undefined });
    }
    for (this.#opIndex = 0; this.#opIndex < program.ops.length; this.#opIndex++) {
      await this.#apply(program.ops[this.#opIndex]!);
      await this.#checkQuiet();
    }
    await this.#drain();
  }

  #retryOptions(spec: RetrySpec, exec: number): RetryOptions {
    const options: RetryOptions = { attempts: spec.attempts };
    const backoff = spec.backoff;
    if (backoff?.kind === 'fixed') options.backoff = backoff.ms;
    else if (backoff?.kind === 'exponential') options.backoff = { initial: backoff.initial, max: backoff.max, factor: backoff.factor, jitter: backoff.jitter };
    else if (backoff?.kind === 'function') options.backoff = ({ attempt }) => backoff.delays[attempt - 1] ?? undefined;
    else options.backoff = 3;
    const retryIf = spec.retryIf;
    if (retryIf === 'all') options.retryIf = () => true;
    else if (retryIf !== 'default') options.retryIf = (_error, attempt) => attempt < retryIf.notAfter;
    options.onRetry = ({ error, attempt, delay }) => {
      this.#count('retry');
      const group = typeof error === 'object' && error !== null ? this.#errorGroup.get(error) : undefined;
      if (group === undefined) {
        // A refusal by an open breaker (retried with retryIf: () => true): not a call of ours.
        this.#execs[exec]!.exact = false;
        return;
      }
      if (attempt > group.attempts - 1) this.#fail(`task ${group.id} retried after attempt ${attempt} of ${group.attempts}`);
      group.backoffDue = this.#clock.now + timerDelay(delay);
      // The executor starts the backoff's timer right after calling onRetry.
      group.backoffTimer = undefined;
      this.#clock.onNextTimer = (id) => (group.backoffTimer = id);
    };
    return options;
  }

  #alive(group: Group): boolean {
    return group.futures.some((future) => !future.done());
  }

  /** Back in the queue after a backoff wait, not started again yet. */
  #requeued(group: Group): boolean {
    return group.backoffTimer !== undefined && this.#clock.isGone(group.backoffTimer) && this.#alive(group);
  }

  #inBackoff(group: Group): boolean {
    return group.backoffDue !== undefined && this.#clock.now < group.backoffDue && this.#alive(group);
  }

  async #apply(op: Op): Promise<void> {
    switch (op.type) {
      case 'run':
        return this.#run(op);
      case 'release': {
        const waiting = this.#calls.filter((call) => call.settle !== undefined);
        if (waiting.length === 0) return;
        const call = waiting[op.pick % waiting.length]!;
        call.settle!(call.number <= call.group.script.failTimes);
        return;
      }
      case 'advance':
        return this.#advance(op.ms);
      case 'cancel': {
        const open = this.#futures.filter((entry) => !entry.future.done());
        if (open.length === 0) return;
        const { future, group } = open[op.pick % open.length]!;
        this.#count(`cancel ${future.state}${this.#inBackoff(group) ? ' in backoff' : ''}`);
        if (!future.cancel('cancelled by the program')) this.#fail(`cancel() of a ${future.state} future of task ${group.id} returned false`);
        return;
      }
      case 'abort': {
        const controller = this.#controllers[op.signal]!;
        if (!controller.signal.aborted) controller.abort('aborted by the program');
        return;
      }
      case 'shutdown':
        this.#shutdown(op.exec, op.wait, op.cancelFutures);
        return;
    }
  }

  #run(op: Extract<Op, { type: 'run' }>): void {
    const record = this.#execs[op.exec]!;
    const options: RunOptions | undefined = op.withOptions ? { priority: op.priority } : undefined;
    if (options !== undefined) {
      if (op.retry !== undefined) options.retry = this.#retryOptions(op.retry, op.exec);
      if (op.timeout !== undefined) options.timeout = op.timeout;
      if (op.deadline !== undefined) options.deadline = op.deadline;
      if (op.key !== undefined) options.key = op.key;
      if (op.signal !== undefined) options.signal = this.#controllers[op.signal]!.signal;
    }
    const retry = options === undefined || op.retry === undefined ? this.#program.retry : op.retry;
    const flightKey = options?.key === undefined ? undefined : `${op.exec}:${options.key}`;
    const flight = flightKey === undefined ? undefined : this.#flights.get(flightKey);
    const joins = flight !== undefined && this.#alive(flight);
    const group: Group = joins
      ? flight
      : { id: this.#groups.length, exec: op.exec, script: op.script, attempts: retry?.attempts ?? 1, deadline: options?.deadline, futures: [], calls: 0, firstCall: undefined, backoffDue: undefined, backoffTimer: undefined, priority: options?.priority ?? 0 };
    const submit = op.via === 'submit' && options === undefined && !op.script.hang;
    let future: Future<unknown>;
    try {
      future = submit
        ? record.executor.submit(() => this.#call(group, undefined, undefined))
        : record.executor.run(({ signal, attempt }: TaskContext) => this.#call(group, signal, attempt), options);
    } catch (error) {
      if (record.shutdown && error instanceof ExecutorShutdownError) return;
      throw error;
    }
    if (record.shutdown) this.#fail('run() after shutdown() did not throw');
    if (joins) this.#count('single-flight follower');
    else {
      this.#groups.push(group);
      if (flightKey !== undefined) this.#flights.set(flightKey, group);
    }
    group.futures.push(future);
    const entry = { future, group, callbacks: 0 };
    this.#futures.push(entry);
    future.addDoneCallback(() => {
      entry.callbacks++;
      if (entry.callbacks > 1) this.#fail(`a future of task ${group.id} settled twice`);
      this.#count(`future ${future.state}`);
    });
    // Settled futures reject: handled here, the done callback checks them.
    future.catch(() => undefined);
  }

  /** A call of a task function: checks the start, then fails or succeeds as its script says. */
  #call(group: Group, signal: AbortSignal | undefined, attempt: number | undefined): Promise<string> {
    const record = this.#execs[group.exec]!;
    const now = this.#clock.now;
    if (!this.#alive(group)) this.#fail(`task ${group.id} was called after every future following it settled (cancelled in a backoff wait, or otherwise)`);
    group.calls++;
    group.firstCall ??= now;
    if (group.calls > group.attempts) this.#fail(`task ${group.id} was called ${group.calls} times with attempts ${group.attempts}`);
    if (attempt !== undefined && (attempt < group.calls || attempt > group.attempts)) this.#fail(`task ${group.id}'s call ${group.calls} was given attempt ${attempt} (attempts ${group.attempts})`);
    for (const future of group.futures) {
      if (attempt !== undefined && !future.done() && future.attempt !== attempt) this.#fail(`a future of task ${group.id} says attempt ${future.attempt} during attempt ${attempt}`);
    }
    if (group.deadline !== undefined && now >= group.firstCall + group.deadline) {
      this.#fail(`task ${group.id} was called at ${now}, past its deadline of ${group.deadline} ms from its first call at ${group.firstCall}`);
    }
    // Queue order: a task whose backoff ended queues again ahead of the tasks of its priority.
    const retried = group.backoffTimer !== undefined;
    group.backoffTimer = undefined;
    if (record.exact) {
      for (const other of this.#groups) {
        if (other.exec !== group.exec || other === group || !this.#requeued(other)) continue;
        if (other.priority > group.priority || (other.priority === group.priority && !retried)) {
          this.#fail(`task ${group.id} (priority ${group.priority}${retried ? ', a retry' : ''}) started before task ${other.id} (priority ${other.priority}), queued again after its backoff`);
        }
      }
    }
    // The slot bound.
    record.inFlight++;
    if (record.inFlight > record.maxWorkers) this.#fail(`${record.inFlight} task functions in flight on executor ${group.exec} with maxWorkers ${record.maxWorkers}`);
    // The sliding window: the start `limit` starts ago must be at least `interval` ms ago.
    const rate = this.#program.rateLimit;
    record.starts.push(now);
    if (rate !== undefined && record.starts.length > rate.limit) {
      const earlier = record.starts[record.starts.length - 1 - rate.limit]!;
      if (now - earlier < rate.interval) this.#fail(`${rate.limit + 1} starts on executor ${group.exec} within ${now - earlier} ms (from ${earlier} to ${now}), rate limit ${rate.limit} per ${rate.interval} ms`);
    }
    const call: Call = { group, exec: group.exec, number: group.calls, settled: false, probe: false, ended: false, settle: undefined };
    // The breaker: never a start while open, one probe at a time while half-open.
    const breaker = record.breaker;
    if (breaker !== undefined) {
      const state = breaker.breaker.state;
      if (state === 'open') this.#fail(`task ${group.id} started while its breaker was open`);
      if (state === 'half-open') {
        const probes = this.#calls.filter((other) => other.probe && !other.ended && this.#execs[other.exec]!.breaker === breaker).length;
        if (probes > 0) this.#fail(`task ${group.id} started as a second probe while ${probes} probe(s) of a half-open breaker were in flight`);
        call.probe = true;
        this.#count('probe');
      }
    }
    this.#calls.push(call);
    this.#count(`call ${Math.min(call.number, 3)}`);
    const failure = (): Error => {
      const error = new Error(`task ${group.id} call ${call.number} failed`);
      this.#errorGroup.set(error, group);
      if (breaker !== undefined) breaker.failures++;
      return error;
    };
    return new Promise<string>((resolve, reject) => {
      const end = (fail: boolean, error?: unknown): void => {
        if (call.settled) return;
        // A probe that succeeded before its attempt ended otherwise: one the breaker may count.
        if (!fail && call.probe && !call.ended && breaker !== undefined) breaker.probeSuccesses++;
        call.settled = true;
        call.ended = true;
        call.settle = undefined;
        record.inFlight--;
        if (fail) reject(error ?? failure());
        else resolve(`task ${group.id} call ${call.number}`);
      };
      const onAbort = (): void => {
        call.ended = true;
        const reason: unknown = signal!.reason;
        if (reason instanceof TimeoutError) {
          // A timeout or a deadline: a failed attempt, which a breaker counts.
          this.#errorGroup.set(reason, group);
          if (breaker !== undefined) breaker.failures++;
        }
        if (group.script.respectsSignal) end(true, reason);
      };
      if (signal?.aborted === true) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      const fail = call.number <= group.script.failTimes;
      if (!group.script.hang) {
        // Settles on its own, a microtask later.
        void Promise.resolve().then(() => {
          signal?.removeEventListener('abort', onAbort);
          end(fail);
        });
      } else {
        call.settle = (failNow) => {
          signal?.removeEventListener('abort', onAbort);
          end(failNow);
        };
      }
    });
  }

  /** Moves the clock `ms` forward; once the timers due at a moment have fired, checks what holds then. */
  async #advance(ms: number): Promise<void> {
    await this.#clock.advance(ms, () => {
      if (this.#clock.nextDue() !== this.#clock.now) this.#checkTimes();
    });
  }

  #shutdown(exec: number, wait: boolean, cancelFutures: boolean): void {
    const record = this.#execs[exec]!;
    const groups = this.#groups.filter((group) => group.exec === exec && this.#alive(group));
    const queued = this.#futures.filter((entry) => entry.group.exec === exec && entry.future.state === 'pending');
    const backoff = groups.filter((group) => this.#inBackoff(group));
    const promise = record.executor.shutdown({ wait, cancelFutures });
    const first = !record.shutdown;
    record.shutdown = true;
    this.#count(`shutdown${wait ? ' wait' : ''}${cancelFutures ? ' cancelFutures' : ''}`);
    if (cancelFutures) {
      for (const { future, group } of queued) if (!future.done()) this.#fail(`shutdown({ cancelFutures: true }) left a queued future of task ${group.id} ${future.state}`);
      for (const group of backoff) {
        this.#count('shutdown cancelled a backoff');
        if (this.#alive(group)) this.#fail(`shutdown({ cancelFutures: true }) left task ${group.id}, waiting out a backoff, unsettled`);
      }
    }
    if (wait && first) {
      const state = { resolved: false };
      record.shutdownPromise = state;
      void promise.then(() => {
        state.resolved = true;
        const stats = record.executor.stats;
        if (stats.pending !== 0 || stats.running !== 0 || stats.retrying !== 0) this.#fail(`shutdown({ wait: true }) resolved with ${JSON.stringify(stats)}`);
      });
    }
  }

  /** What holds at the current time, right after the timers due now have fired. */
  #checkTimes(): void {
    const now = this.#clock.now;
    for (const group of this.#groups) {
      if (group.deadline !== undefined && group.firstCall !== undefined && now >= group.firstCall + group.deadline && this.#alive(group)) {
        this.#fail(`task ${group.id} is not settled at ${now}, past its deadline of ${group.deadline} ms from its first call at ${group.firstCall}`);
      }
    }
  }

  /** At a quiet moment (no microtask left): the counts match what is in flight. */
  async #checkQuiet(): Promise<void> {
    await turn();
    if (this.#violation !== undefined) throw this.#violation;
    this.#checkTimes();
    let idle = true;
    for (const [exec, record] of this.#execs.entries()) {
      const stats = record.executor.stats;
      if (stats.running !== record.inFlight) {
        this.#fail(`executor ${exec} counts ${stats.running} running with ${record.inFlight} task functions in flight (a task in a backoff wait holds no slot)`);
      }
      const backoff = this.#groups.filter((group) => group.exec === exec && this.#inBackoff(group)).length;
      if (record.exact ? stats.retrying !== backoff : stats.retrying < backoff) this.#fail(`executor ${exec} counts ${stats.retrying} retrying with ${backoff} tasks in a backoff wait`);
      // One outcome per task (a single-flight task counts once, however many futures follow it).
      const outcomes = { completed: 0, failed: 0, cancelled: 0 };
      for (const group of this.#groups) {
        if (group.exec !== exec || this.#alive(group)) continue;
        const states = group.futures.map((future) => future.state);
        if (states.includes('fulfilled') && states.includes('rejected')) this.#fail(`the futures of single-flight task ${group.id} settled differently: ${states.join(', ')}`);
        outcomes[states.includes('fulfilled') ? 'completed' : states.includes('rejected') ? 'failed' : 'cancelled']++;
      }
      if (stats.completed !== outcomes.completed || stats.failed !== outcomes.failed || stats.cancelled !== outcomes.cancelled) {
        this.#fail(`executor ${exec} counts ${JSON.stringify(stats)} with ${JSON.stringify(outcomes)} settled tasks`);
      }
      // No task is held back without a reason: a free slot, room in the rate window and a closed breaker start one.
      const rate = this.#program.rateLimit;
      const starts = record.starts;
      const room = rate === undefined || starts.length < rate.limit || starts[starts.length - rate.limit]! + rate.interval <= this.#clock.now;
      // The breaker's state is read last: reading it may move it to half-open, which wakes the gate.
      if (stats.pending > 0 && stats.running < record.maxWorkers && room && (record.breaker === undefined || record.breaker.breaker.state === 'closed')) {
        this.#fail(`executor ${exec} holds ${stats.pending} task(s) back with ${stats.running} of ${record.maxWorkers} slots in use and room in the rate window`);
      }
      if (stats.pending !== 0 || stats.running !== 0 || stats.retrying !== 0) idle = false;
      else if (record.shutdownPromise !== undefined && !record.shutdownPromise.resolved) this.#fail(`executor ${exec} is idle, yet its shutdown({ wait: true }) has not resolved`);
    }
    if (idle && this.#clock.pending !== 0) this.#fail(`every executor is idle yet ${this.#clock.pending} timer(s) are left: ${this.#clock.describePending()}`);
  }

  /** Releases every task and moves the clock until every future settled, then shuts down and looks for leftovers. */
  async #drain(): Promise<void> {
    for (let round = 0; ; round++) {
      if (round > 50_000) this.#fail('the program does not end');
      for (const call of this.#calls) call.settle?.(call.number <= call.group.script.failTimes);
      await turn();
      if (this.#futures.every((entry) => entry.future.done())) break;
      if (this.#calls.some((call) => call.settle !== undefined)) continue;
      if (this.#clock.pending === 0) {
        const open = this.#futures.filter((entry) => !entry.future.done());
        this.#fail(`${open.length} future(s) hang with every task released and no timer left: tasks ${open.map((entry) => `${entry.group.id} (${entry.future.state})`).join(', ')}`);
      }
      // On to the next timer.
      await this.#advance(this.#clock.nextDue()! - this.#clock.now);
    }
    await this.#checkQuiet();
    for (const record of this.#execs) {
      let resolved = false;
      void record.executor.shutdown({ wait: true }).then(() => (resolved = true));
      await turn();
      await turn();
      if (!resolved) this.#fail(`shutdown({ wait: true }) does not resolve with ${JSON.stringify(record.executor.stats)}`);
      if (record.shutdownPromise !== undefined && !record.shutdownPromise.resolved) this.#fail('an earlier shutdown({ wait: true }) did not resolve');
    }
    if (this.#violation !== undefined) throw this.#violation;
    if (this.#clock.pending !== 0) this.#fail(`${this.#clock.pending} timer(s) left after shutdown: ${this.#clock.describePending()}`);
    for (const [index, controller] of this.#controllers.entries()) {
      const listeners = getEventListeners(controller.signal, 'abort').length;
      if (listeners !== 0) this.#fail(`${listeners} abort listener(s) left on signal ${index}`);
    }
    for (const { future, group, callbacks } of this.#futures) {
      if (callbacks !== 1) this.#fail(`a future of task ${group.id} ran its done callbacks ${callbacks} times`);
      if (future.state === 'rejected') {
        const error = await future.exception();
        if (error instanceof BrokenCircuitError) this.#count('refused by the breaker');
        else if (error instanceof TimeoutError) this.#count('timed out');
      }
    }
  }
}
