import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import nodeResolve from '@rollup/plugin-node-resolve';
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';

/**
 * Entry points: the runtime-neutral core, plus Node-only ones added by their own modules.
 * Shared code lands in chunks, so every entry point sees the same classes.
 */
const allEntries = {
  index: 'lib/index.ts',
  worker: 'lib/worker/index.ts',
  'worker-thread': 'lib/worker/worker-thread.ts',
  process: 'lib/process/index.ts',
  cli: 'lib/process/cli.ts',
  queue: 'lib/queue/index.ts',
};
export const entries = Object.fromEntries(Object.entries(allEntries).filter(([, file]) => existsSync(file)));

/**
 * Writes each `.d.ts` again as `.d.cts`, its relative imports pointing at `.cjs` siblings, so
 * that CommonJS consumers get declarations of their own.
 */
const ctsTypes = () => ({
  name: 'cts-types',
  async writeBundle(options, bundle) {
    for (const file of Object.keys(bundle)) {
      if (!file.endsWith('.d.ts')) continue;
      const text = await readFile(`${options.dir}/${file}`, 'utf8');
      const cts = text.replace(/((?:from\s+|import\s*\(?)\s*['"]\.\.?\/[^'"]+)\.js(['"])/g, '$1.cjs$2');
      await writeFile(`${options.dir}/${file.replace(/\.d\.ts$/, '.d.cts')}`, cts);
    }
  },
});

// bullmq and ioredis: optional peer dependencies of taskpool/queue, never bundled.
const external = (id) => id.startsWith('node:') || /^(bullmq|ioredis)(\/|$)/.test(id);

export default [
  {
    input: entries,
    external,
    plugins: [nodeResolve(), typescript({ tsconfig: './tsconfig.build.json', noCheck: true })],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js', sourcemap: true },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs', sourcemap: true, exports: 'named' },
    ],
  },
  {
    // The command and the worker thread's program have no types to publish.
    input: Object.fromEntries(Object.entries(entries).filter(([name]) => name !== 'cli' && name !== 'worker-thread')),
    external,
    plugins: [dts({ tsconfig: './tsconfig.build.json', compilerOptions: { removeComments: false, noCheck: true } }), ctsTypes()],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: 'chunks/[name]-[hash].d.ts' },
  },
];
