/**
 * Opens a page of this repository in headless Chromium and reads a result back from it.
 *
 * The repository is served by `static-server.mjs` on 127.0.0.1; Chromium is the system one
 * (Debian's `chromium` package, or `CHROMIUM_PATH`), driven by playwright-core: no browser is
 * downloaded. The page must set `globalThis[resultGlobal]` when it is done.
 *
 *   node scripts/browser-runner.mjs '/spec/runtimes/browser.html?lib=/dist/index.js'
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startStaticServer } from './static-server.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Flags for a headless Chromium on a closed network (no background connections). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The Chromium binary: `CHROMIUM_PATH`, else the first system one found. */
export function findChromium() {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  return candidates.find((path) => existsSync(path));
}

/**
 * @param {{ page: string, root?: string, resultGlobal?: string, timeoutMs?: number }} options
 *   `page`: path and query under `root` (the repository by default).
 * @returns {Promise<{ result: unknown, version: string, errors: string[] }>}
 */
export async function runPage({ page, root = ROOT, resultGlobal = '__taskpoolResult', timeoutMs = 60_000 }) {
  const executablePath = findChromium();
  if (executablePath === undefined) {
    throw new Error('Chromium not found: install Debian\'s "chromium" package (apt-get install -y chromium) or set CHROMIUM_PATH');
  }
  const server = await startStaticServer({ root });
  let browser;
  try {
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: timeoutMs });
    const context = await browser.newContext();
    const tab = await context.newPage();
    const errors = [];
    tab.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
    tab.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
    });
    tab.on('requestfailed', (request) => errors.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
    const response = await tab.goto(new URL(page.replace(/^\//, ''), server.url).href, { timeout: timeoutMs });
    if (!response?.ok()) throw new Error(`could not load ${page}: HTTP ${response?.status()}`);
    await tab.waitForFunction((name) => globalThis[name] !== undefined, resultGlobal, { timeout: timeoutMs });
    const result = await tab.evaluate((name) => globalThis[name], resultGlobal);
    return { result, version: browser.version(), errors };
  } finally {
    await browser?.close();
    await server.close();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const page = process.argv[2] ?? '/spec/runtimes/browser.html?lib=/dist/index.js';
  const { result, version, errors } = await runPage({ page });
  console.log(`Chromium ${version}`);
  for (const error of errors) console.log(error);
  console.log(JSON.stringify(result, null, 2));
}
