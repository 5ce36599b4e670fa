/**
 * `npm run test:package`: the package as users receive it.
 *
 * 1. `npm pack`; every file named by `exports`, `main`, `module`, `types` and `bin` is in the
 *    tarball, and nothing but dist/, the README, the licence and package.json.
 * 2. The tarball is installed into a scratch project (offline, no scripts). There, in Node:
 *    `import` and `require` of every `exports` entry work; the core runs a task both ways; the
 *    error classes of the ESM and CommonJS builds, loaded together, recognise each other
 *    (`instanceof` and `name`); every `bin` answers `--help`.
 * 3. Compile-only consumers type-check against the installed types, with `skipLibCheck: false`:
 *    `moduleResolution: node16` from an ES module (.mts, `import` condition → .d.ts) and from a
 *    CommonJS module (.cts, `require` condition → .d.cts), and `moduleResolution: bundler`
 *    both for a browser project (DOM lib, no Node types: core only) and with Node types (every
 *    entry). `@ts-expect-error` lines prove the types are real, not `any`.
 * 4. `@arethetypeswrong/cli` reports no problem for the tarball.
 *
 * Prints `ok`/`FAIL` per check, then `package: N passed, N failed`; exits 1 on any failure.
 * Build first (`npm run build`). `--keep` leaves the scratch directory for inspection.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { extractExamples, sourceFiles } from './check-examples.mjs';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const keep = process.argv.includes('--keep');
const NODE_ONLY_NOTE = 'Node-only entry points: imported and required in Node, typed with Node types';

const totals = { passed: 0, failed: 0 };

function pass(name, detail) {
  totals.passed++;
  console.log(`ok   ${name}${detail ? ` (${detail})` : ''}`);
}

function fail(name, detail) {
  totals.failed++;
  console.log(`FAIL ${name}\n${String(detail).replace(/^/gm, '     ')}`);
}

async function step(name, body) {
  try {
    const detail = await body();
    pass(name, detail);
  } catch (error) {
    const output = `${error?.stdout ?? ''}${error?.stderr ?? ''}`.trim();
    fail(name, `${error instanceof Error ? error.message : String(error)}${output ? `\n${output}` : ''}`);
  }
}

/** Every file path an `exports` value names (all conditions), as `{ condition path, file }`. */
function exportTargets(value, conditions = []) {
  if (typeof value === 'string') return [{ conditions, file: value }];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, nested]) => exportTargets(nested, [...conditions, key]));
}

/** The subpaths of `exports` that lead to JavaScript (not `./package.json`). */
const entrySubpaths = Object.entries(pkg.exports ?? {})
  .filter(([, value]) => exportTargets(value).some(({ file }) => /\.(c|m)?js$/.test(file)))
  .map(([subpath]) => subpath);
const specifier = (subpath) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`);
const coreSubpath = '.';
const nodeOnly = entrySubpaths.filter((subpath) => subpath !== coreSubpath);
const bins = typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {});

const scratch = mkdtempSync(join(tmpdir(), 'taskpool-package-'));
const packDir = join(scratch, 'pack');
const appDir = join(scratch, 'app');
let tarball;
/** Thrown to skip every later check when packing failed. */
const NO_TARBALL = Symbol('no tarball');
let packedFiles = [];

try {
  await step('npm pack', async () => {
    mkdirSync(packDir, { recursive: true });
    mkdirSync(appDir, { recursive: true });
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('[')));
    tarball = join(packDir, info.filename);
    const files = new Set(info.files.map((file) => file.path));
    const named = [
      ...Object.values(pkg.exports ?? {}).flatMap((value) => exportTargets(value).map(({ file }) => file)),
      pkg.main,
      pkg.module,
      pkg.types,
      ...Object.values(bins),
    ]
      .filter(Boolean)
      .map((file) => file.replace(/^\.\//, ''));
    const missing = [...new Set(named)].filter((file) => !files.has(file));
    if (missing.length > 0) throw new Error(`named in package.json but not in the tarball: ${missing.join(', ')} (run npm run build)`);
    const unexpected = [...files].filter((file) => !/^(dist\/|package\.json$|README(\.md)?$|LICEN[CS]E(\.md|\.txt)?$|CHANGELOG\.md$)/i.test(file));
    if (unexpected.length > 0) throw new Error(`unexpected files in the tarball: ${unexpected.join(', ')}`);
    packedFiles = [...files];
    return `${info.filename}: ${info.entryCount} files, ${info.size} B packed, ${info.unpackedSize} B unpacked`;
  });

  await step('no stale chunk ships: every file under dist/chunks/ is loaded by an entry point', async () => {
    // Roots: the files directly in dist/ (entry points, their types and maps). A chunk is live
    // when a live file names it; a map is live with its file.
    const isChunk = (file) => file.startsWith('dist/chunks/');
    const live = new Set(packedFiles.filter((file) => file.startsWith('dist/') && !isChunk(file)));
    const text = new Map();
    const read = (file) => {
      if (!text.has(file)) text.set(file, readFileSync(join(ROOT, file), 'utf8'));
      return text.get(file);
    };
    let grew = true;
    while (grew) {
      grew = false;
      for (const chunk of packedFiles.filter((file) => isChunk(file) && !live.has(file))) {
        const base = chunk.slice('dist/chunks/'.length);
        const owner = chunk.endsWith('.map') ? chunk.slice(0, -'.map'.length) : undefined;
        const stem = base.replace(/\.d\.c?ts$/, '.js').replace(/\.d\.ts$/, '.js');
        const named = [...live].some((file) => !file.endsWith('.map') && (read(file).includes(base) || read(file).includes(stem.replace(/\.js$/, ''))));
        if ((owner !== undefined && live.has(owner)) || (owner === undefined && named)) {
          live.add(chunk);
          grew = true;
        }
      }
    }
    const stale = packedFiles.filter((file) => isChunk(file) && !live.has(file));
    if (stale.length > 0) throw new Error(`files no entry point loads (left over from an earlier build? clean dist/ before building): ${stale.join(', ')}`);
    return `${packedFiles.filter(isChunk).length} chunk files, all loaded`;
  });
  if (tarball === undefined) throw NO_TARBALL;

  await step('the declarations carry the JSDoc (editor hovers, summaries and examples)', async () => {
    // Every @example of lib/ on a declaration (not a module's own comment) is in the .d.ts of
    // the ES module entry points; npm run test:examples type-checks them against these files.
    const seen = new Set();
    const queue = Object.values(pkg.exports ?? {})
      .flatMap((value) => exportTargets(value))
      .filter(({ conditions }) => conditions.includes('import') && conditions.includes('types'))
      .map(({ file }) => join(ROOT, file));
    let declarations = '';
    while (queue.length > 0) {
      const file = queue.shift();
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      declarations += text;
      for (const [, relative] of text.matchAll(/from\s+['"](\.\.?\/[^'"]+)['"]/g)) {
        const base = join(file, '..', relative).replace(/\.(c?)js$/, '.d.$1ts');
        if (existsSync(base)) queue.push(base);
      }
    }
    const examples = sourceFiles('lib')
      .flatMap((file) => extractExamples(file, readFileSync(join(ROOT, file), 'utf8')))
      .filter(({ moduleComment }) => !moduleComment);
    const missing = examples.filter(({ code }) => !code.every(({ text }) => text.trim() === '' || declarations.includes(text.trim())));
    if (examples.length === 0 || missing.length === examples.length) {
      throw new Error(`no JSDoc @example of lib/ in ${[...seen].map((file) => file.slice(ROOT.length)).join(', ')}: the comments were stripped from the .d.ts`);
    }
    if (missing.length > 0) throw new Error(`@example blocks of lib/ missing from the declarations: ${missing.map(({ file, line, index }) => `${file}:${line} example ${index}`).join(', ')}`);
    return `the ${examples.length} @example blocks of lib/ in ${seen.size} declaration files`;
  });

  await step('install the tarball into a scratch project (offline, no scripts)', async () => {
    writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'scratch-consumer', private: true, type: 'module' }, null, 2));
    await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', tarball], { cwd: appDir });
    const installed = JSON.parse(readFileSync(join(appDir, 'node_modules', pkg.name, 'package.json'), 'utf8'));
    return `${installed.name}@${installed.version}`;
  });

  // --- Node: import, require, both builds together, bins ---------------------------------
  writeFileSync(
    join(appDir, 'import-all.mjs'),
    `const names = {};
// An entry point with optional peer dependencies (taskpool/queue), imported without them, must say what to install.
const peers = (error) => { if (/install its peer dependencies/.test(error?.message)) return 'asks for its peer dependencies'; throw error; };
for (const id of ${JSON.stringify(entrySubpaths.map(specifier))}) names[id] = await import(id).then((module) => Object.keys(module).length, peers);
const { TaskPoolExecutor } = await import(${JSON.stringify(pkg.name)});
const pool = new TaskPoolExecutor({ maxWorkers: 2 });
const value = await pool.submit(async (a, b) => a + b, 2, 3);
await pool.shutdown();
if (value !== 5) throw new Error('submit gave ' + value);
console.log(JSON.stringify(names));
`,
  );
  writeFileSync(
    join(appDir, 'require-all.cjs'),
    `const names = {};
const peers = (error) => { if (/install its peer dependencies/.test(error?.message)) return 'asks for its peer dependencies'; throw error; };
for (const id of ${JSON.stringify(entrySubpaths.map(specifier))}) {
  try {
    names[id] = Object.keys(require(id)).length;
  } catch (error) {
    names[id] = peers(error);
  }
}
const { TaskPoolExecutor } = require(${JSON.stringify(pkg.name)});
const { version } = require(${JSON.stringify(`${pkg.name}/package.json`)});
const pool = new TaskPoolExecutor({ maxWorkers: 2 });
pool.submit((a, b) => a * b, 2, 3).then(async (value) => {
  await pool.shutdown();
  if (value !== 6) throw new Error('submit gave ' + value);
  console.log(JSON.stringify({ ...names, version }));
});
`,
  );
  writeFileSync(
    join(appDir, 'dual.mjs'),
    `import { createRequire } from 'node:module';
import * as esm from ${JSON.stringify(pkg.name)};
const cjs = createRequire(import.meta.url)(${JSON.stringify(pkg.name)});
const names = ['CancelledError', 'TimeoutError', 'InvalidStateError', 'ExecutorShutdownError', 'BrokenExecutorError'];
const problems = [];
if (esm.CancelledError === cjs.CancelledError) problems.push('expected two copies of the classes (one per build)');
for (const name of names) {
  for (const [from, to] of [[cjs, esm], [esm, cjs]]) {
    const error = new from[name]('x');
    if (!(error instanceof to[name])) problems.push(name + ' from one build is not instanceof the other build\\'s class');
    if (error.name !== name) problems.push(name + ' has name ' + error.name);
  }
  for (const other of names) {
    if (other !== name && new cjs[name]() instanceof esm[other]) problems.push(name + ' is wrongly instanceof ' + other);
  }
}
class MyError extends esm.CancelledError {}
if (!(new MyError() instanceof esm.CancelledError) || new cjs.CancelledError() instanceof MyError) problems.push('subclass instanceof');
// Errors raised by a CommonJS executor, checked with the ESM classes (as a mixed app would).
const pool = new cjs.TaskPoolExecutor({ maxWorkers: 1 });
const blocker = pool.submit(() => new Promise(() => {}));
const queued = pool.submit(() => 1);
queued.cancel();
const cancelled = await queued.catch((error) => error);
if (!(cancelled instanceof esm.CancelledError) || cancelled.name !== 'CancelledError') problems.push('cancellation from the CJS build: ' + cancelled);
await pool.shutdown({ wait: false });
let shutdown;
try { pool.submit(() => 1); } catch (error) { shutdown = error; }
if (!(shutdown instanceof esm.ExecutorShutdownError)) problems.push('shutdown error from the CJS build: ' + shutdown);
blocker.cancel();
if (problems.length > 0) { console.error(problems.join('\\n')); process.exit(1); }
console.log('ok');
`,
  );

  await step(`import every entry point: ${entrySubpaths.map(specifier).join(', ')}`, async () => {
    const { stdout } = await run(process.execPath, ['import-all.mjs'], { cwd: appDir, timeout: 30_000 });
    return `named exports ${stdout.trim()}`;
  });
  await step(`require every entry point: ${entrySubpaths.map(specifier).join(', ')}`, async () => {
    const { stdout } = await run(process.execPath, ['require-all.cjs'], { cwd: appDir, timeout: 30_000 });
    return `named exports ${stdout.trim()}`;
  });
  await step('ESM and CommonJS builds loaded together: errors are instanceof across builds, name set', async () => {
    await run(process.execPath, ['dual.mjs'], { cwd: appDir, timeout: 30_000 });
  });
  for (const [name, file] of Object.entries(bins)) {
    await step(`bin '${name}' (${file}) is linked and answers --help`, async () => {
      const source = readFileSync(join(appDir, 'node_modules', pkg.name, file), 'utf8');
      if (!source.startsWith('#!/usr/bin/env node')) throw new Error(`${file} does not start with '#!/usr/bin/env node'`);
      const { stdout } = await run(join(appDir, 'node_modules', '.bin', name), ['--help'], { cwd: appDir, timeout: 30_000 });
      if (stdout.trim() === '') throw new Error('--help printed nothing');
    });
  }

  // --- Types --------------------------------------------------------------------------------
  const tsc = require.resolve('typescript/bin/tsc');
  const typeRoots = [join(ROOT, 'node_modules', '@types')];
  const typeImports = (subpaths) => subpaths.map((subpath, index) => `import * as entry${index} from '${specifier(subpath)}';\nexport const keys${index}: readonly string[] = Object.keys(entry${index});\n`).join('');
  const coreConsumer = `import {
  TaskPoolExecutor, Future, CancelledError, TimeoutError, wait, asCompleted, settle, isOk, FIRST_COMPLETED,
  type Result, type Completion, type ExecutorStats, type MapOptions,
} from '${pkg.name}';

export async function consume(): Promise<number> {
  await using pool = new TaskPoolExecutor({ maxWorkers: 2, name: 'consumer' });
  const future: Future<number> = pool.submit(async (a: number, b: number) => a + b, 1, 2);
  const sum: number = await future;
  const stats: ExecutorStats = pool.stats;
  const options: MapOptions = { bufferSize: 2, ordered: true };
  const lengths: number[] = [];
  for await (const length of pool.map((text: string) => text.length, ['a', 'bb'], options)) lengths.push(length);
  const { done } = await wait([future], { returnWhen: FIRST_COMPLETED });
  for await (const completion of asCompleted([future])) {
    const typed: Completion<number> = completion;
    void typed;
  }
  const result: Result<number> = await settle(future);
  const value = isOk(result) ? result.value : -1;
  const error: unknown = new CancelledError('x', { cause: new TimeoutError() });
  // @ts-expect-error a string is not a number argument
  pool.submit((n: number) => n, 'one');
  // @ts-expect-error the future holds a number, not a string
  const wrong: Future<string> = future;
  void wrong;
  return sum + value + stats.pending + lengths.length + done.size + (error instanceof Error ? 0 : 1);
}
`;
  const cjsConsumer = `import taskpool = require('${pkg.name}');
import { TaskPoolExecutor } from '${pkg.name}';

export async function consume(): Promise<number> {
  const pool: taskpool.TaskPoolExecutor = new TaskPoolExecutor({ maxWorkers: 1 });
  const value: number = await pool.submit(() => 42);
  await pool.shutdown();
  // @ts-expect-error the value is a number
  const wrong: string = value;
  void wrong;
  return value;
}
`;
  const strict = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    target: 'ES2022',
  };
  const projects = [
    {
      name: 'node16, ES module consumer (.mts → import condition)',
      files: { 'node16-esm.mts': coreConsumer + typeImports(nodeOnly) },
      options: { ...strict, module: 'node16', moduleResolution: 'node16', lib: ['ES2022', 'ESNext.Disposable'], types: ['node'], typeRoots },
      expect: 'dist/index.d.ts',
    },
    {
      name: 'node16, CommonJS consumer (.cts → require condition)',
      files: { 'node16-cjs.cts': cjsConsumer + typeImports(nodeOnly) },
      options: { ...strict, module: 'node16', moduleResolution: 'node16', lib: ['ES2022', 'ESNext.Disposable'], types: ['node'], typeRoots },
      expect: 'dist/index.d.cts',
    },
    {
      name: 'bundler, browser project (DOM lib, no Node types): core',
      files: { 'bundler-browser.ts': coreConsumer },
      options: { ...strict, module: 'preserve', moduleResolution: 'bundler', lib: ['ES2022', 'DOM', 'ESNext.Disposable'], types: [] },
      expect: 'dist/index.d.ts',
    },
    {
      name: `bundler, with Node types: every entry point${nodeOnly.length > 0 ? ` (${NODE_ONLY_NOTE})` : ''}`,
      files: { 'bundler-node.ts': coreConsumer + typeImports(nodeOnly) },
      options: { ...strict, module: 'preserve', moduleResolution: 'bundler', lib: ['ES2022', 'ESNext.Disposable'], types: ['node'], typeRoots },
      expect: 'dist/index.d.ts',
    },
  ];
  for (const [index, project] of projects.entries()) {
    await step(`types resolve and check: ${project.name}`, async () => {
      const config = `tsconfig.${index}.json`;
      for (const [file, text] of Object.entries(project.files)) writeFileSync(join(appDir, file), text);
      writeFileSync(join(appDir, config), JSON.stringify({ compilerOptions: project.options, files: Object.keys(project.files) }, null, 2));
      let stdout;
      try {
        ({ stdout } = await run(process.execPath, [tsc, '-p', config, '--listFiles'], { cwd: appDir, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }));
      } catch (error) {
        const errors = `${error.stdout ?? ''}`.split('\n').filter((line) => / error TS\d+/.test(line));
        throw new Error(`tsc -p ${config} failed:\n${errors.join('\n') || error.message}`);
      }
      const ours = stdout
        .split('\n')
        .filter((line) => line.includes(`/node_modules/${pkg.name}/`))
        .map((line) => line.slice(line.indexOf(`/node_modules/${pkg.name}/`) + `/node_modules/${pkg.name}/`.length));
      if (!ours.includes(project.expect)) throw new Error(`expected ${project.expect} to be used, got: ${ours.join(', ') || 'none'}`);
      return ours.join(', ');
    });
  }

  // --- attw ---------------------------------------------------------------------------------
  await step('@arethetypeswrong/cli: no problem (profile strict)', async () => {
    const attw = join(ROOT, 'node_modules', '.bin', 'attw');
    const { stdout } = await run(attw, [tarball, '--format', 'ascii', '--no-color', '--no-emoji', '--no-definitely-typed', '--profile', 'strict'], {
      cwd: appDir,
      timeout: 120_000,
    });
    const lines = stdout.split('\n').map((line) => line.trim());
    return lines.find((line) => /no problems found/i.test(line)) ?? lines.find((line) => line !== '');
  });
} catch (error) {
  if (error !== NO_TARBALL) throw error;
} finally {
  if (keep) console.log(`scratch project kept in ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}

if (!existsSync(join(ROOT, 'LICENSE')) && !existsSync(join(ROOT, 'LICENSE.md'))) {
  console.log(`note no LICENSE file: package.json says "${pkg.license}" but the tarball carries no licence text`);
}
console.log(`package: ${totals.passed} passed, ${totals.failed} failed`);
process.exitCode = totals.failed > 0 ? 1 : 0;
