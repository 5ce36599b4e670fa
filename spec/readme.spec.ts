/**
 * Every ```js and ```ts block of the README runs as written: each is transpiled with
 * TypeScript (ES2022, so `await using` is lowered for Node 20), written next to the package
 * so that `import ... from 'taskpool'` resolves to the built dist/, and run with node. It must
 * exit with code 0 and print nothing on stderr.
 *
 * A block right after `<!-- no-run -->` is skipped: only for fragments that cannot run alone
 * (a type signature); at most {@link MAX_SKIPPED} of them. `README_PATH` (relative to the package
 * root) reads another file.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { TaskPoolExecutor, type Future } from '../lib/index.js';
import { packageRoot } from './helpers.js';
import { hasRedisServer, startRedis, type PrivateRedis } from './queue/redis.js';

/** Languages run; other fences (sh, bash, text, json…) are documentation only. */
const RUN_LANGUAGES = new Set(['js', 'javascript', 'mjs', 'ts', 'typescript', 'mts']);
const NO_RUN = '<!-- no-run -->';
const MAX_SKIPPED = 3;
const BLOCK_TIMEOUT_MS = 10_000;
const PARALLEL_RUNS = 2;

interface Block {
  /** The heading above the block, made unique with a counter. */
  readonly title: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly language: string;
  readonly code: string;
  readonly skipped: boolean;
}

interface RunOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** The fenced code blocks of a Markdown text, with the heading each one sits under. */
function extractBlocks(markdown: string): Block[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: Block[] = [];
  const seen = new Map<string, number>();
  let heading = '(before the first heading)';
  let previous = '';
  for (let index = 0; index < lines.length; index++) {
    const text = lines[index]!;
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)/.exec(text);
    if (open === null) {
      const title = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
      if (title !== null) heading = title[1]!.replace(/`/g, '');
      if (text.trim() !== '') previous = text.trim();
      continue;
    }
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    const start = index;
    for (index++; index < lines.length; index++) {
      const line = lines[index]!;
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
      if (close !== null && close[1]![0] === fence[0] && close[1]!.length >= fence.length) break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    const language = info.toLowerCase();
    const count = (seen.get(heading) ?? 0) + 1;
    seen.set(heading, count);
    blocks.push({
      title: count === 1 ? heading : `${heading} (${count})`,
      line: start + 1,
      language,
      code: body.join('\n') + '\n',
      skipped: previous === NO_RUN,
    });
    previous = '';
  }
  return blocks;
}

/** The block as ES2022 JavaScript (types removed, `await using` lowered). */
function transpile(block: Block, file: string): string {
  const output = ts.transpileModule(block.code, {
    fileName: file.replace(/\.mjs$/, '.mts'),
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleDetection: ts.ModuleDetectionKind.Force,
      sourceMap: false,
    },
  });
  const problems = output.diagnostics ?? [];
  if (problems.length > 0) {
    const messages = problems.map((problem) => ts.flattenDiagnosticMessageText(problem.messageText, '\n'));
    throw new Error(`README line ${block.line}: the block does not parse:\n${messages.join('\n')}`);
  }
  return output.outputText;
}

function runNode(file: string, cwd: string, env: NodeJS.ProcessEnv): Promise<RunOutcome> {
  return new Promise((done) => {
    execFile(process.execPath, [file], { cwd, env, timeout: BLOCK_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals | null; killed?: boolean }) | null;
      done({
        code: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
        signal: failure?.signal ?? null,
        timedOut: failure?.killed === true,
        stdout,
        stderr,
      });
    });
  });
}

const root = packageRoot();
const readmePath = resolve(root, process.env.README_PATH ?? 'README.md');

const shownPath = relative(root, readmePath).startsWith('..') ? readmePath : relative(root, readmePath);

describe(`README examples (${shownPath})`, () => {
  let markdown: string | undefined;
  let readError: unknown;
  try {
    markdown = readFileSync(readmePath, 'utf8');
  } catch (error) {
    readError = error;
  }

  if (markdown === undefined) {
    it('finds the README', () => {
      throw new Error(`Cannot read ${readmePath}: ${String(readError)}`);
    });
    return;
  }

  const blocks = extractBlocks(markdown).filter((block) => RUN_LANGUAGES.has(block.language));
  const runnable = blocks.filter((block) => !block.skipped);
  const skipped = blocks.filter((block) => block.skipped);
  const workDir = join(root, '.readme-run', String(process.pid));
  const runs = new Map<Block, Future<RunOutcome>>();
  let executor: TaskPoolExecutor | undefined;
  // The taskpool/queue examples get a private Redis (REDIS_URL); CI must have redis-server.
  // Without one (a machine where it is not installed), they are reported as pending, not run.
  const needsRedis = (block: Block): boolean => block.code.includes("from 'taskpool/queue'");
  const noRedis = process.env.CI !== 'true' && !hasRedisServer();
  let redis: PrivateRedis | undefined;

  it(`has runnable blocks and skips at most ${MAX_SKIPPED} with ${NO_RUN}`, () => {
    expect(runnable, 'runnable ```js/```ts blocks').to.not.be.empty;
    const where = skipped.map((block) => `line ${block.line} (${block.title})`).join(', ');
    expect(skipped.length, `blocks marked ${NO_RUN}: ${where}`).to.be.at.most(MAX_SKIPPED);
  });

  before(async () => {
    if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error(`dist/ is not built in ${root}: run \`npm run build\` first`);
    await mkdir(workDir, { recursive: true });
    if (runnable.some(needsRedis) && !noRedis) redis = await startRedis();
    if (runnable.some(needsRedis) && noRedis) console.log('    (the taskpool/queue examples are pending: redis-server is not installed here)');
    const env = redis === undefined ? process.env : { ...process.env, REDIS_URL: redis.url };
    // The blocks run PARALLEL_RUNS at a time, each test awaiting its own.
    executor = new TaskPoolExecutor({ maxWorkers: PARALLEL_RUNS, name: 'readme' });
    runnable.forEach((block, index) => {
      if (noRedis && needsRedis(block)) return;
      const file = join(workDir, `block-${String(index + 1).padStart(2, '0')}-line-${block.line}.mjs`);
      runs.set(
        block,
        executor!.submit(async () => {
          await writeFile(file, transpile(block, file));
          return runNode(file, root, env);
        }),
      );
    });
  });

  after(async () => {
    await executor?.shutdown({ cancelFutures: true });
    await redis?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  for (const block of runnable) {
    it(`${block.title} (line ${block.line}, ${block.language})`, async function () {
      this.timeout((runnable.length + 1) * (BLOCK_TIMEOUT_MS + 1_000));
      // Pending (said once, below): redis-server is not installed here. CI installs it.
      if (noRedis && needsRedis(block)) this.skip();
      const outcome = await runs.get(block)!;
      const output = `\n--- stdout ---\n${outcome.stdout}\n--- stderr ---\n${outcome.stderr}`;
      expect(outcome.timedOut, `README line ${block.line}: still running after ${BLOCK_TIMEOUT_MS} ms${output}`).to.equal(false);
      expect(outcome.code, `README line ${block.line}: exit code ${outcome.code} (signal ${outcome.signal})${output}`).to.equal(0);
      expect(outcome.stderr, `README line ${block.line}: wrote to stderr${output}`).to.equal('');
    });
  }
});
