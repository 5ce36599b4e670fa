// A consumer of the built package, as users write it: compiled by spec/types/consumer.spec.ts
// under module node16, nodenext, bundler and a strictest configuration.
import { TaskPoolExecutor, asCompleted, wait, type Completion, type Future } from 'taskpool';

interface User {
  id: number;
  name: string;
}

async function fetchUser(id: number): Promise<User> {
  return { id, name: `user ${id}` };
}

function parsePrice(text: string): number {
  return Number(text);
}

export async function main(): Promise<void> {
  await using pool = new TaskPoolExecutor({ maxWorkers: 2 });
  const { done, notDone } = await wait([pool.submit(fetchUser, 1), pool.submit(parsePrice, '2'), fetchUser(9)]);
  const all: Set<Future<User | number>> = new Set([...done, ...notDone]);
  for await (const completion of asCompleted([pool.submit(fetchUser, 1), pool.submit(parsePrice, '2'), fetchUser(9)], { timeout: 1_000 })) {
    const typed: Completion<User | number> = completion;
    if (typed.result.ok) console.log(typed.result.value, all.size);
  }
  for await (const price of pool.map(parsePrice, ['1', '2'], { bufferSize: 2 })) console.log(price.toFixed(2));
}
