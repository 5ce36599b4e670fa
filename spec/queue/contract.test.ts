/**
 * The shared contracts run against QueueExecutor (adapters: spec/contract/queue-adapter.ts), and
 * what stands for the cases that cannot apply to a queue: a worker's slot stays taken by a
 * cancelled or timed-out job until its handler returns.
 */
import { expect } from 'chai';
import { CancelledError, TimeoutError } from '../../lib/index.js';
import type { TaskContext } from '../../lib/queue/index.js';
import { policiesContract } from '../contract/policies-suite.js';
import { queueContractAdapter, queuePoliciesAdapter } from '../contract/queue-adapter.js';
import { executorContract } from '../contract/suite.js';
import { rejectionOf } from '../fixtures.js';
import { gate, type Gate } from '../helpers.js';
import { queueName, useQueueHarness } from './harness.js';

describe('taskpool/queue: the shared contracts', () => {
  const h = useQueueHarness();

  executorContract(queueContractAdapter(h));

  const policies = queuePoliciesAdapter(h);
  policiesContract(policies);
  after(() => policies.dispose());

  describe("a worker's slot", () => {
    /** One handler that ignores its signal: call k returns once `gates[k]` opens. */
    function stubbornHandlers() {
      const gates: Gate<void>[] = [];
      const started: Gate<AbortSignal>[] = [];
      const startOf = (index: number): Gate<AbortSignal> => (started[index] ??= gate());
      let calls = 0;
      const handlers = {
        stubborn: async (label: string, { signal }: TaskContext): Promise<string> => {
          const index = calls++;
          gates[index] = gate();
          startOf(index).resolve(signal);
          await gates[index].promise;
          return label;
        },
      };
      return { handlers, gates, started: (index: number) => startOf(index).promise, calls: () => calls };
    }

    for (const how of ['cancelled', 'timed out'] as const) {
      it(`stays taken by a job ${how} while running until its handler returns; the next job waits for it`, async () => {
        const queue = queueName();
        const { handlers, gates, started, calls } = stubbornHandlers();
        const server = await h.serve({ queue, handlers, concurrency: 1 });
        const pool = h.client<typeof handlers>({ queue });
        const first = pool.run('stubborn', ['first'], how === 'timed out' ? { timeout: 20 } : {});
        const signal = await started(0);
        const next = pool.submit('stubborn', 'next');
        const aborted = new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
        if (how === 'cancelled') first.cancel();
        const error = await rejectionOf(first);
        expect(error).to.be.instanceOf(how === 'cancelled' ? CancelledError : TimeoutError);
        // The worker has aborted the handler's signal; the handler goes on, and holds the slot.
        expect(await aborted).to.be.instanceOf(how === 'cancelled' ? CancelledError : TimeoutError);
        expect(server.stats.active).to.equal(1);
        expect(next.state).to.equal('pending');
        expect(calls()).to.equal(1);
        gates[0]!.resolve();
        await started(1);
        gates[1]!.resolve();
        expect(await next).to.equal('next');
        expect(server.stats).to.include({ active: 0, completed: 1 });
      });
    }
  });
});
