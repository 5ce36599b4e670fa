/**
 * The built package as users get it: `dist/` loaded by its own name through `import` and
 * `require`. Runs after `npm run build`.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as source from '../lib/index.js';
import { packageRoot, track } from './helpers.js';

type Taskpool = typeof source;

/** Every .js/.cjs file under `dir`. */
async function scripts(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile() && /\.c?js$/.test(entry.name)).map((entry) => join(entry.parentPath, entry.name));
}

const ERROR_CLASSES = ['CancelledError', 'TimeoutError', 'InvalidStateError', 'ExecutorShutdownError', 'BrokenExecutorError'] as const;

describe('package', () => {
  const root = packageRoot();
  const packageName = 'taskpool';
  let esm: Taskpool;
  let cjs: Taskpool;

  before(async function () {
    if (!existsSync(join(root, 'dist', 'index.js')) || !existsSync(join(root, 'dist', 'index.cjs'))) {
      throw new Error(`dist/ is not built in ${root}: run \`npm run build\` first`);
    }
    // A variable specifier: loaded at run time by the package's own name (self-reference).
    esm = (await import(packageName)) as Taskpool;
    cjs = createRequire(import.meta.url)(packageName) as Taskpool;
  });

  it('loads the ESM build through import() and the CommonJS build through require()', () => {
    expect(fileURLToPath(import.meta.resolve(packageName))).to.equal(join(root, 'dist', 'index.js'));
    expect(createRequire(import.meta.url).resolve(packageName)).to.equal(join(root, 'dist', 'index.cjs'));
    expect(esm.TaskPoolExecutor).to.not.equal(cjs.TaskPoolExecutor);
  });

  it('exposes the same named exports from both builds as lib/index.ts', () => {
    const expected = Object.keys(source).sort();
    expect(expected).to.include.members(['TaskPoolExecutor', 'Future', 'wait', 'asCompleted', 'settle', ...ERROR_CLASSES]);
    expect(Object.keys(esm).sort()).to.deep.equal(expected);
    expect(Object.keys(cjs).sort()).to.deep.equal(expected);
    for (const name of expected) {
      const key = name as keyof Taskpool;
      expect(typeof esm[key], name).to.equal(typeof source[key]);
      expect(typeof cjs[key], name).to.equal(typeof source[key]);
    }
  });

  for (const build of ['esm', 'cjs'] as const) {
    it(`runs a task with the ${build} build`, async () => {
      const taskpool = build === 'esm' ? esm : cjs;
      const pool = track(new taskpool.TaskPoolExecutor({ maxWorkers: 2 }));
      const future = pool.submit(async (a: number, b: number) => a + b, 2, 3);
      expect(future).to.be.instanceOf(taskpool.Future);
      expect(await future).to.equal(5);
      expect(await taskpool.settle(pool.submit(() => Promise.reject(new Error('boom'))))).to.have.property('ok', false);
      await pool.shutdown();
      expect(pool.stats).to.deep.equal({ pending: 0, running: 0, retrying: 0, completed: 1, failed: 1, cancelled: 0 });
    });
  }

  it('recognises each error class across the ESM and CommonJS copies', () => {
    for (const name of ERROR_CLASSES) {
      const [EsmError, CjsError] = [esm[name], cjs[name]];
      expect(EsmError, name).to.not.equal(CjsError);
      expect(new EsmError(), name).to.be.instanceOf(CjsError);
      expect(new CjsError(), name).to.be.instanceOf(EsmError);
      expect(new EsmError(), name).to.be.instanceOf(Error);
      expect(new EsmError().name).to.equal(name);
      for (const other of ERROR_CLASSES) {
        if (other !== name) expect(new EsmError(), `${name} is not ${other}`).to.not.be.instanceOf(cjs[other]);
      }
    }
  });

  it('gives a cancelled ESM future an error that is a CancelledError of the CommonJS build', async () => {
    const pool = track(new esm.TaskPoolExecutor({ maxWorkers: 1 }));
    pool.submit(() => new Promise<void>((resolve) => setImmediate(resolve)));
    const queued = pool.submit(() => 1);
    expect(queued.cancel()).to.equal(true);
    const outcome = await esm.settle(queued);
    expect(outcome.ok).to.equal(false);
    expect(!outcome.ok && outcome.error).to.be.instanceOf(cjs.CancelledError);
  });

  it('lets an executor of one build take a CircuitBreaker made by the other, and refuse through it', async () => {
    const breaker = new esm.CircuitBreaker({ consecutiveFailures: 1, halfOpenAfter: 60_000 });
    const pool = track(new cjs.TaskPoolExecutor({ maxWorkers: 1, breaker }));
    const failed = await cjs.settle(pool.submit(() => Promise.reject(new Error('down'))));
    expect(!failed.ok && (failed.error as Error).message).to.equal('down');
    expect(breaker.state).to.equal('open');
    const refused = await cjs.settle(pool.submit(() => 1));
    expect(!refused.ok && refused.error).to.be.instanceOf(cjs.BrokenCircuitError);
    expect(() => new cjs.TaskPoolExecutor({ breaker: { state: 'closed' } as never })).to.throw(TypeError, "'breaker' must be a CircuitBreaker: current value is {\"state\":\"closed\"}");
    await pool.shutdown();
  });

  it('bundles p-defer: no built file imports it', async () => {
    const files = await scripts(join(root, 'dist'));
    expect(files).to.include(join(root, 'dist', 'index.js'));
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      expect(text, file).to.not.match(/\bfrom\s*['"]p-defer['"]|\bimport\s*\(\s*['"]p-defer['"]|\brequire\s*\(\s*['"]p-defer['"]|^\s*import\s*['"]p-defer['"]/m);
    }
  });

  it('declares no runtime dependencies in package.json', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.name).to.equal(packageName);
    expect(pkg.dependencies ?? {}).to.deep.equal({});
    // Peers only for an entry point beside the core (taskpool/queue), and all optional.
    const peers = Object.keys((pkg.peerDependencies ?? {}) as Record<string, string>);
    const meta = (pkg.peerDependenciesMeta ?? {}) as Record<string, { optional?: boolean }>;
    expect(peers.filter((name) => meta[name]?.optional !== true), 'peer dependencies not optional').to.deep.equal([]);
  });
});
