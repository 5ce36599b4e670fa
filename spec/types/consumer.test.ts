import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Compiles a consumer file against the built declarations (dist/*.d.ts,
 * through the package's own name and `exports`) under the settings users have: module
 * node16, nodenext, bundler, and a strictest configuration. Needs `npm run build` first.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** The consumer, as users write it. */
const CONSUMER = `import { TaskPoolExecutor, asCompleted, wait, type Completion, type Future } from 'taskpool';

interface User {
  id: number;
  name: string;
}

async function fetchUser(id: number): Promise<User> {
  return { id, name: \`user \${id}\` };
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
`;

const common = { target: 'ES2022', lib: ['ES2023', 'ESNext.Disposable', 'DOM'], types: [], strict: true, noEmit: true, skipLibCheck: true };
const SETTINGS: Record<string, object> = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
  strictest: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    noImplicitReturns: true,
    noPropertyAccessFromIndexSignature: true,
    noFallthroughCasesInSwitch: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    allowUnusedLabels: false,
    allowUnreachableCode: false,
    isolatedModules: true,
    verbatimModuleSyntax: true,
  },
};

function compile(project: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', project], { cwd: root }, (error, stdout, stderr) => resolve(error ? `${stdout}${stderr}` || String(error) : ''));
  });
}

describe('types of the built package in a consumer', function () {
  this.timeout(120_000);
  for (const [name, options] of Object.entries(SETTINGS)) {
    it(`compiles under ${name}`, async () => {
      // Inside the project, so that 'taskpool' resolves to this package by its own name.
      const directory = mkdtempSync(join(root, '.types-consumer-'));
      try {
        const project = join(directory, 'tsconfig.json');
        writeFileSync(join(directory, 'consumer.mts'), CONSUMER);
        writeFileSync(project, JSON.stringify({ compilerOptions: { ...common, ...options }, files: ['consumer.mts'] }));
        expect(await compile(project)).to.equal('');
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    });
  }
});
