/**
 * The built `taskpool` command (dist/cli.js) on real processes: byte-exact output, spooling,
 * stdin read as needed, Ctrl-C, and the same command lines as GNU parallel where it is installed.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_CLI, readPid, runBytes, runCli, tempDir, waitForFile, waitGone } from './fixtures/process/helpers.js';

const hasParallel = ((): boolean => {
  const probe = spawnSync('parallel', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && probe.stdout.startsWith('GNU parallel');
})();

describe('taskpool command, built, on real processes', function () {
  // Each test starts Node itself, which can take seconds on a loaded machine.
  this.timeout(20_000);
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.cleanup());

  it('passes binary output through byte for byte, past the spill size too', async () => {
    const small = randomBytes(100_000);
    const large = randomBytes(5 << 20);
    writeFileSync(dir.file('small'), small);
    writeFileSync(dir.file('large'), large);
    const run = await runBytes(process.execPath, [DIST_CLI, '-k', 'cat', ':::', 'small', 'large', 'small'], { cwd: dir.path });
    expect(run.code).to.equal(0);
    expect(run.stdout.length).to.equal(small.length * 2 + large.length);
    expect(run.stdout.equals(Buffer.concat([small, large, small]))).to.equal(true);
  });

  it('passes inputs with $ and inputs from a file through unchanged', async () => {
    writeFileSync(dir.file('inputs'), 'a$$b\np$&q\r\nx\ry\n');
    const run = await runBytes(process.execPath, [DIST_CLI, '-k', 'printf', '<%s>', '::::', 'inputs'], { cwd: dir.path });
    expect(run.stdout.toString()).to.equal('<a$$b><p$&q><x\ry>');
  });

  it('reads stdin only as fast as jobs start', async () => {
    // An endless stdin: the run stops after 3 jobs; what was written to stdin by then stays small.
    const child = spawn(process.execPath, [DIST_CLI, '-j', '1', '--halt', 'now,done=3', 'true'], { stdio: ['pipe', 'ignore', 'ignore'] });
    let written = 0;
    const line = Buffer.alloc(64 << 10, '1\n');
    const pump = (): void => {
      while (child.stdin.writable && child.stdin.write(line)) written += line.length;
      if (child.stdin.writable) written += line.length;
    };
    child.stdin.on('drain', pump);
    child.stdin.on('error', () => {});
    pump();
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).to.equal(0);
    expect(written).to.be.below(4 << 20);
  });

  it('on Ctrl-C (SIGINT) stops the children, leaves no temporary file, exits 130', async () => {
    let spilled = 0;
    mkdirSync(dir.file('tmp'));
    const script = `head -c 3000000 /dev/zero; echo $$ > ${dir.file('pid-{}')}; exec sleep 100`;
    const run = await runCli(DIST_CLI, ['-j', '2', 'sh', '-c', script, ':::', '1', '2', '3'], {
      env: { ...process.env, TMPDIR: dir.file('tmp') },
      onSpawn: (pid) => {
        void Promise.all([waitForFile(dir.file('pid-1')), waitForFile(dir.file('pid-2'))]).then(() => {
          // Both jobs' output waits in the run's own temporary directory.
          const [own] = readdirSync(dir.file('tmp'));
          spilled = readdirSync(join(dir.file('tmp'), own!)).filter((name) => name.endsWith('.out') && statSync(join(dir.file('tmp'), own!, name)).size === 3_000_000).length;
          process.kill(pid, 'SIGINT');
        });
      },
    });
    expect(run).to.deep.include({ code: 130, signal: null });
    expect(spilled).to.equal(2);
    expect(run.stderr).to.match(/: 0 succeeded, 0 failed, 2 interrupted, 1 not started \(interrupted by SIGINT\)\n$/);
    expect(readdirSync(dir.file('tmp'))).to.deep.equal([]);
    await waitGone([readPid(dir.file('pid-1')), readPid(dir.file('pid-2'))]);
  });

  describe('the same command lines as GNU parallel', function () {
    before(function () {
      if (!hasParallel) {
        console.log('      (GNU parallel is not installed: comparisons skipped)');
        this.skip();
      }
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
    ];
    for (const { argv, stdin } of cases) {
      it(`${argv.join(' ')}${stdin === undefined ? '' : ` < ${JSON.stringify(stdin)}`}`, async () => {
        writeFileSync(dir.file('list'), 'l1\nl2\n');
        const options = { cwd: dir.path, ...(stdin === undefined ? {} : { stdin }) };
        const [ours, theirs] = await Promise.all([runBytes(process.execPath, [DIST_CLI, ...argv], options), runBytes('parallel', argv, options)]);
        expect(ours.stdout.toString()).to.equal(theirs.stdout.toString());
        expect(ours.code).to.equal(theirs.code);
      });
    }

    it('writes a job log with the same header and columns', async () => {
      const argv = ['-k', '--joblog', 'LOG', 'sh', '-c', 'printf abc; exit {}', ':::', '0', '3'];
      await runBytes(process.execPath, [DIST_CLI, ...argv.map((word) => (word === 'LOG' ? 'ours' : word))], { cwd: dir.path });
      await runBytes('parallel', ['-k', '--joblog', 'theirs', "printf abc; exit {}", ':::', '0', '3'], { cwd: dir.path });
      const columns = (name: string): string[][] =>
        readFileSync(join(dir.path, name), 'utf8').trim().split('\n').map((line) => line.split('\t'));
      const [ours, theirs] = [columns('ours'), columns('theirs')];
      expect(ours[0]).to.deep.equal(theirs[0]);
      expect(ours.map((row) => [row[0], row[1], row[4], row[5], row[6], row[7]])).to.deep.equal(theirs.map((row) => [row[0], row[1], row[4], row[5], row[6], row[7]]));
      expect(ours.slice(1).map((row) => [row[2]!.length, row[3]!.length])).to.deep.equal(theirs.slice(1).map((row) => [row[2]!.length, row[3]!.length]));
    });
  });
});
