/** A raw BullMQ worker doing the benchmark's trivial job: `node raw-worker.mjs QUEUE REDIS_URL CONCURRENCY`. */
import { Worker } from 'bullmq';

const [queue, url, concurrency] = process.argv.slice(2);
const worker = new Worker(queue, async (job) => job.data.a + job.data.b, { connection: { url, maxRetriesPerRequest: null }, concurrency: Number(concurrency) });
worker.on('error', () => {});
await worker.waitUntilReady();
process.stderr.write('serving queue\n');
process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
