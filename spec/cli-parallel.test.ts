/**
 * The built `taskpool` command (dist/cli.js) and GNU parallel on the same command lines:
 * same stdout, same exit status, same job log columns. Skipped, saying so, where GNU parallel
 * is not installed, except under CI (which installs it): there it fails. About 20 s: run by
 * `npm run test:cli`, not `npm test`.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_CLI, runBytes, tempDir } from './fixtures/process/helpers.js';

const hasParallel = ((): boolean => {
  const probe = spawnSync('parallel', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && probe.stdout.startsWith('GNU parallel');
})();

/** Programs the cases run (GNU parallel runs its command through a shell, taskpool directly: one word each). */
function writeScripts(path: string): void {
  const scripts = {
    killer: 'echo "$1"; kill -USR1 $$',
    gated: 'case $1 in 1) echo 1-start; while [ ! -e gate ]; do sleep 0.01; done; echo 1-end ;; 2) echo 2-start; echo 2-end ;; 3) : > gate; echo 3 ;; esac',
    forever: 'echo "$1"; [ "$1" = 1 ] || exec sleep 100',
  };
  for (const [name, body] of Object.entries(scripts)) writeFileSync(join(path, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  rmSync(join(path, 'gate'), { force: true });
}

describe('taskpool command and GNU parallel', function () {
  this.timeout(20_000);
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.cleanup());

  before(function () {
    if (hasParallel) return;
    // CI installs it (.ci/run): there, a missing GNU parallel fails rather than skips.
    if (process.env.CI === 'true') throw new Error('GNU parallel is not installed (Debian: apt-get install -y parallel)');
    console.log('      (GNU parallel is not installed: comparisons skipped)');
    this.skip();
  });

  const cases: { argv: string[]; stdin?: string }[] = [
    { argv: ['-k', 'echo', ':::', 'a', 'b', 'c'] },
    { argv: ['-k', 'echo', '{}', '{.}', '{/}', '{//}', '{/.}', ':::', 'a/b.c/d.tar.gz', 'x.txt', '/x', 'y/'] },
    { argv: ['-k', 'echo', '{2}', '{1}', '{1.}', ':::', 'a.x', 'b', ':::', '1', '2'] },
    { argv: ['-k', 'echo', ':::', 'a', 'b', ':::', '1', '2', ':::', 'X'] },
    { argv: ['-k', '-n2', 'echo', ':::', 'a', 'b', 'c'] },
    { argv: ['-k', '-n2', 'echo', 'x{}y', ':::', 'a', 'b', 'c', 'd'] },
    { argv: ['-k', '-j1', 'echo', '{#}', '{%}', ':::', 'a', 'b', 'c'] },
    { argv: ['-k', '--tag', 'echo', 'out', ':::', 'a', 'b'] },
    { argv: ['-kj2', 'echo', ':::', 'a', 'b'] },
    { argv: ['-k', '-0', 'echo'], stdin: 'a b\0c\0' },
    { argv: ['-k', '-d', ',', 'echo'], stdin: 'a,b,c' },
    { argv: ['-k', 'echo'], stdin: 'one\ntwo\tx\nthree\n' },
    { argv: ['-k', '-a', 'list', 'echo'] },
    { argv: ['-k', 'echo', '::::', 'list', ':::', '1', '2'] },
    { argv: ['-k', 'false', ':::', '1', '2', '3'] },
    { argv: ['-j1', '--halt', 'soon,fail=2', 'false', ':::', '1', '2', '3', '4'] },
    { argv: ['-j1', '--halt', 'now,success=1', 'true', ':::', '1', '2'] },
    { argv: ['-j1', '--halt-on-error', '2', 'false', ':::', '1', '2'] },
    { argv: ['-k', '--retries', '2', 'cat', ':::', 'no-such-file'] },
    // A job killed by a signal neither sent.
    { argv: ['-k', './killer', ':::', 'a', 'b'] },
    { argv: ['-j1', '--halt', 'now,fail=1', './killer', ':::', 'a', 'b'] },
    // --line-buffer with -k: job 2's lines wait for job 1, which ends once job 3 has started (-j2: once job 2 has ended).
    { argv: ['-k', '--line-buffer', '-j2', './gated', ':::', '1', '2', '3'] },
    // --timeout N%: job 2 never ends by itself, job 1 succeeds at once.
    { argv: ['-k', '-j1', '--timeout', '200%', './forever', ':::', '1', '2'] },
  ];
  for (const { argv, stdin } of cases) {
    it(`${argv.join(' ')}${stdin === undefined ? '' : ` < ${JSON.stringify(stdin)}`}`, async () => {
      writeFileSync(dir.file('list'), 'l1\nl2\n');
      writeScripts(dir.path);
      const options = { cwd: dir.path, ...(stdin === undefined ? {} : { stdin }) };
      // One after the other: the gated case's file is per run.
      const ours = await runBytes(process.execPath, [DIST_CLI, ...argv], options);
      writeScripts(dir.path);
      const theirs = await runBytes('parallel', argv, options);
      expect(ours.stdout.toString()).to.equal(theirs.stdout.toString());
      expect(ours.code).to.equal(theirs.code);
    });
  }

  it('writes a job log with the same header and columns', async () => {
    writeScripts(dir.path);
    const argv = ['-k', '--joblog', 'LOG', 'sh', '-c', 'printf abc; exit {}', ':::', '0', '3'];
    await runBytes(process.execPath, [DIST_CLI, ...argv.map((word) => (word === 'LOG' ? 'ours' : word))], { cwd: dir.path });
    await runBytes('parallel', ['-k', '--joblog', 'theirs', "printf abc; exit {}", ':::', '0', '3'], { cwd: dir.path });
    // A job killed by a signal: Exitval 0, Signal its number (GNU parallel's own shell kills itself).
    await runBytes(process.execPath, [DIST_CLI, '-k', '--joblog', 'ours', '--resume', 'sh', '-c', 'kill -USR1 $$', ':::', '0', '3', 'x'], { cwd: dir.path });
    await runBytes('parallel', ['-k', '--joblog', 'theirs', '--resume', 'kill -USR1 $$', ':::', '0', '3', 'x'], { cwd: dir.path });
    const columns = (name: string): string[][] =>
      readFileSync(join(dir.path, name), 'utf8').trim().split('\n').map((line) => line.split('\t'));
    const [ours, theirs] = [columns('ours'), columns('theirs')];
    expect(ours[0]).to.deep.equal(theirs[0]);
    expect(ours.map((row) => [row[0], row[1], row[4], row[5], row[6], row[7]])).to.deep.equal(theirs.map((row) => [row[0], row[1], row[4], row[5], row[6], row[7]]));
    expect(ours.slice(1).map((row) => [row[2]!.length, row[3]!.length])).to.deep.equal(theirs.slice(1).map((row) => [row[2]!.length, row[3]!.length]));
  });
});
