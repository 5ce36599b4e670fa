/**
 * The built `taskpool` command (dist/cli.js) on real processes: byte-exact output, spooling,
 * stdin read as needed, and Ctrl-C. The comparison with GNU parallel is in
 * cli-parallel.test.ts (`npm run test:cli`).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_CLI, readPid, runBytes, runCli, tempDir, waitForFile, waitGone } from './fixtures/process/helpers.js';

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

  it('refuses to run an input that is not UTF-8, from the command line or stdin, and runs the others', async () => {
    const script = `printf 'caf\\351.txt\\nfine\\n' | ${JSON.stringify(process.execPath)} ${JSON.stringify(DIST_CLI)} -k echo :::: - ::: "$(printf 'x\\351')" y`;
    const run = await runBytes('sh', ['-c', script], { cwd: dir.path });
    expect(run.code).to.equal(3);
    expect(run.stdout.toString()).to.equal('fine y\n');
    expect(run.stderr).to.include("taskpool: job 1 was not run: input 'caf\\xe9.txt' is not valid UTF-8");
    expect(run.stderr).to.include("taskpool: job 3 was not run: input 'x\\xe9' is not valid UTF-8");
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

  describe('the README transcript', () => {
    const readme = readFileSync('README.md', 'utf8');
    const marker = readme.indexOf('<!-- cli-transcript -->');
    const block = readme.slice(readme.indexOf('```sh\n', marker) + 6, readme.indexOf('\n```', marker + 30));
    const steps: { command: string; output: string }[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('$ ')) steps.push({ command: line.slice(2), output: '' });
      else steps.at(-1)!.output += `${line}\n`;
    }

    it('has commands', () => {
      expect(marker).to.be.above(0);
      expect(steps.length).to.be.at.least(5);
    });

    for (const { command, output } of steps) {
      it(`$ ${command}`, async () => {
        mkdirSync(dir.file('bin'));
        writeFileSync(dir.file('bin/taskpool'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(DIST_CLI)} "$@"\n`);
        chmodSync(dir.file('bin/taskpool'), 0o755);
        const env = { ...process.env, PATH: `${dir.file('bin')}:${process.env.PATH}` };
        const run = await runBytes('sh', ['-c', command], { cwd: dir.path, env });
        expect(run.stdout.toString()).to.equal(output);
        expect(run.code).to.equal(0);
      });
    }
  });
});
