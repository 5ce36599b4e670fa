/**
 * `npm run size`: the size users pay for the core, as they would ship it.
 *
 * The core ESM bundle (the `import` target of package.json `exports['.']`, with any chunk it
 * loads) is re-bundled in memory with rollup, minified with terser, and gzipped (level 9, as
 * size-limit and bundlephobia do). Other entry points are measured for information.
 * Reports the core against its target (8 kB = 8192 bytes, `--target=BYTES`), and fails when it
 * exceeds its ceiling (12,750 bytes, or `--budget=BYTES`): while the core is over its target, the
 * ceiling keeps it from growing further. The last line is `size: N passed, N failed` (the
 * ceiling check, and the presence of every entry's file).
 * Build first (`npm run build`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import terser from '@rollup/plugin-terser';
import { rollup } from 'rollup';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const argument = (name, fallback) => Number(process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
/** What the core should weigh (issue: 8 kB with the policies in). */
const TARGET = argument('target', 8192);
/**
 * What it may not exceed: the size once the policies, map's future-less items, the kept shapes
 * (internal/shapes.ts), the task items that are their own futures (48 B less per queued task)
 * and a map's plain-array input read by index (without keeping the array), with its first run
 * no longer compiling the scheduler again (+152 B), landed; then fixes that cost 160 B: memoize
 * keeps its calls in flight apart from its `maxSize`, an executor takes a breaker of the other
 * build, a bad value's class is named in messages, the policies' clock reads fractions of a
 * millisecond, and a `retryIf` that returns no boolean is reported; 140 B for a rate limit
 * that counts a start when the task is called rather than when it is let through; 18 B for an
 * ExecutorShutdownError that says what to do instead; 34 B for a retry refused by an open
 * breaker that keeps the error before as its cause. Then lowered to what a pass over the map,
 * the queue and the policies for redundancy left (12,614 B, from 12,809 B), plus a small margin;
 * then raised by 100 B for messages that name the executor, as API.md asks of every message: a
 * cancelled task's CancelledError, and the TimeoutError of `result(timeout)` (12,713 B); 7 B
 * went to the ExecutorShutdownError's message made in one place for every executor (12,720 B).
 * For scale: before the policies (and the scheduler they needed) the core weighed 6,098 B.
 */
const BUDGET = argument('budget', 12_750);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** The ESM file of an `exports` entry: its `import` condition (or the entry itself when a string). */
function esmTarget(entry) {
  if (typeof entry === 'string') return entry.endsWith('.js') || entry.endsWith('.mjs') ? entry : undefined;
  const target = entry?.import ?? entry?.default;
  if (typeof target === 'string') return target;
  return typeof target?.default === 'string' ? target.default : undefined;
}

async function measure(file) {
  const bundle = await rollup({
    input: join(ROOT, file),
    external: (id) => id.startsWith('node:'),
    onwarn: () => {},
  });
  const plain = await bundle.generate({ format: 'es' });
  const minified = await bundle.generate({
    format: 'es',
    plugins: [terser({ module: true, ecma: 2022, compress: { passes: 2 }, format: { comments: false } })],
  });
  await bundle.close();
  const code = plain.output[0].code;
  const min = minified.output[0].code;
  return {
    raw: Buffer.byteLength(code),
    min: Buffer.byteLength(min),
    gzip: gzipSync(min, { level: 9 }).length,
  };
}

const kB = (bytes) => `${(bytes / 1024).toFixed(2)} kB`;
let failed = false;
let checks = 0;
let failures = 0;
for (const [subpath, entry] of Object.entries(pkg.exports ?? {})) {
  const file = esmTarget(entry);
  if (file === undefined || !/\.(m)?js$/.test(file)) continue;
  const name = subpath === '.' ? pkg.name : `${pkg.name}${subpath.slice(1)}`;
  if (!existsSync(join(ROOT, file))) {
    console.log(`${name}: ${file} is missing; run npm run build`);
    failed = true;
    checks++;
    failures++;
    continue;
  }
  const { raw, min, gzip } = await measure(file);
  const line = `${name} (${file}): ${raw} B bundled, ${min} B minified, ${gzip} B minified + gzipped (${kB(gzip)})`;
  if (subpath === '.') {
    const over = gzip > BUDGET;
    failed ||= over;
    checks++;
    if (over) failures++;
    const target = gzip > TARGET ? `target ${TARGET} B: over by ${gzip - TARGET} B` : `target ${TARGET} B: met`;
    console.log(`${line}; ${target}; ceiling ${BUDGET} B: ${over ? `OVER by ${gzip - BUDGET} B` : 'ok'}`);
  } else {
    console.log(`${line}; Node-only, no budget`);
  }
}
console.log(`size: ${checks - failures} passed, ${failures} failed`);
process.exitCode = failed ? 1 : 0;
