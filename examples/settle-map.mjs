// Keep going when some tasks fail: settle() turns outcomes into Result values.
//
// pool.map() stops at the first error (and cancels the rest). Wrapping the function in
// settle() makes each item a { ok, value } or { ok: false, error } instead, so the loop sees
// every outcome in input order.
import { TaskPoolExecutor, isErr, settle } from 'taskpool';

/** Parses a port number, or throws. */
async function parsePort(text) {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`not a port: '${text}'`);
  return port;
}

const inputs = ['80', '443', 'http', '8080', '70000', '22'];
const pool = new TaskPoolExecutor({ maxWorkers: 2 });
try {
  const ports = [];
  for await (const result of pool.map(settle(parsePort), inputs)) {
    if (isErr(result)) console.log(`skipped: ${result.error.message}`);
    else ports.push(result.value);
  }
  console.log('ports:', ports);
} finally {
  await pool.shutdown();
}
