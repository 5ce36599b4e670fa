import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main, nodeIO, packageVersion } from '../lib/process/cli-main.js';
import { commandFor, parseArguments, parseDuration, UsageError } from '../lib/process/cli-options.js';
import { formatClock, formatElapsed, formatProgress, formatSummary, ProgressLine } from '../lib/process/cli-progress.js';
import {
  BUILD_CLI,
  DIST_CLI,
  DIST_CLI_CJS,
  fakeIO,
  readPid,
  runCli,
  tempDir,
  waitFor,
  waitForFile,
  waitGone,
} from './fixtures/process/helpers.js';

const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

interface JsonLine {
  seq: number;
  input: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number | null;
  attempts: number;
  stdout: string;
  stderr: string;
  error: string | null;
}

function jsonLines(text: string): JsonLine[] {
  return text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as JsonLine);
}

describe('taskpool command', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.cleanup());

  describe('arguments', () => {
    it('reads options, then the command, then the inputs after :::', () => {
      expect(parseArguments(['-j', '4', '--timeout', '30s', '--retries=2', '-k', '--json', '--halt-on-error', '--', 'gzip', '-k', '{}', ':::', 'a', 'b'], 2)).to.deep.equal({
        kind: 'run',
        options: { jobs: 4, timeout: 30_000, retries: 2, keepOrder: true, json: true, haltOnError: true, command: ['gzip', '-k', '{}'], inputs: ['a', 'b'] },
      });
      const plain = parseArguments(['-j8', '--jobs=3', '--keep-order', 'echo', '-n', '--json'], 2);
      expect(plain).to.deep.equal({
        kind: 'run',
        options: { jobs: 3, timeout: undefined, retries: 0, keepOrder: true, json: false, haltOnError: false, command: ['echo', '-n', '--json'], inputs: undefined },
      });
      expect(parseArguments(['-', 'x'], 2)).to.have.nested.property('options.command').that.deep.equals(['-', 'x']);
      expect(parseArguments(['cat', ':::'], 2)).to.have.nested.property('options.inputs').that.deep.equals([]);
    });

    it('answers --help and --version before anything else', () => {
      expect(parseArguments(['-j', '2', '--help', '--bogus'], 2)).to.deep.equal({ kind: 'help' });
      expect(parseArguments(['-h'], 2)).to.deep.equal({ kind: 'help' });
      expect(parseArguments(['--version'], 2)).to.deep.equal({ kind: 'version' });
      expect(parseArguments(['-V'], 2)).to.deep.equal({ kind: 'version' });
    });

    const bad: [string[], string][] = [
      [[], 'no command given'],
      [['--', ':::', 'a'], "no command given before ':::'"],
      [['-j', '0', 'x'], "invalid --jobs '0': expected a positive integer"],
      [['-j', '1.5', 'x'], "invalid --jobs '1.5': expected a positive integer"],
      [['--jobs'], "option '--jobs' needs a value"],
      [['--retries', '-1', 'x'], "invalid --retries '-1': expected a non-negative integer"],
      [['--bogus', 'x'], "unknown option '--bogus'"],
      [['-x', 'x'], "unknown option '-x'"],
      [['--json=yes', 'x'], "option '--json' takes no value"],
      [['--timeout', '3x', 'x'], "invalid --timeout '3x': expected a positive duration such as 500ms, 30s, 2m or a number of seconds"],
      [['--timeout', '0', 'x'], "invalid --timeout '0': expected a positive duration such as 500ms, 30s, 2m or a number of seconds"],
    ];
    for (const [argv, message] of bad) {
      it(`rejects ${JSON.stringify(argv)}: ${message}`, () => {
        expect(() => parseArguments(argv, 2)).to.throw(UsageError, message);
      });
    }

    it('parses durations: units, combinations, plain seconds', () => {
      expect(parseDuration('500ms')).to.equal(500);
      expect(parseDuration('30s')).to.equal(30_000);
      expect(parseDuration('1.5')).to.equal(1_500);
      expect(parseDuration('2m')).to.equal(120_000);
      expect(parseDuration('1h')).to.equal(3_600_000);
      expect(parseDuration('1m30s')).to.equal(90_000);
      expect(parseDuration('0.25s')).to.equal(250);
      for (const text of ['', 's', '1d', '-1s', '1 s', '1e3', '.5']) expect(parseDuration(text), text).to.equal(undefined);
    });

    it('replaces {} by the input everywhere, or appends the input', () => {
      expect(commandFor(['gzip', '-k', '{}'], 'a b.txt')).to.deep.equal(['gzip', '-k', 'a b.txt']);
      expect(commandFor(['cp', '{}', '{}.bak'], 'f')).to.deep.equal(['cp', 'f', 'f.bak']);
      expect(commandFor(['{}', 'x'], 'ls')).to.deep.equal(['ls', 'x']);
      expect(commandFor(['echo', '-n'], 'x')).to.deep.equal(['echo', '-n', 'x']);
    });
  });

  describe('progress and summary text', () => {
    it('formats clocks, elapsed times, progress and summaries', () => {
      expect(formatClock(4_200)).to.equal('0:04');
      expect(formatClock(754_000)).to.equal('12:34');
      expect(formatClock(3_723_000)).to.equal('1:02:03');
      expect(formatElapsed(420)).to.equal('0.42s');
      expect(formatElapsed(12_345)).to.equal('12.3s');
      expect(formatElapsed(61_000)).to.equal('1:01');
      const tally = { total: 10, running: 2, succeeded: 2, failed: 1, interrupted: 0 };
      expect(formatProgress(tally, 3_000)).to.equal('taskpool: 3/10 done, 2 running, 1 failed, 0:03 elapsed, ETA 0:07');
      expect(formatProgress({ ...tally, total: undefined }, 3_000)).to.equal('taskpool: 3/? done, 2 running, 1 failed, 0:03 elapsed, ETA ?');
      expect(formatProgress({ ...tally, succeeded: 0, failed: 0 }, 3_000)).to.match(/0\/10 done.*ETA \?$/);
      expect(formatSummary({ ...tally, running: 0, interrupted: 1 }, 10, 1_234, 'interrupted by SIGINT')).to.equal(
        'taskpool: 10 jobs in 1.23s: 2 succeeded, 1 failed, 1 interrupted, 6 not started (interrupted by SIGINT)',
      );
      expect(formatSummary({ total: 1, running: 0, succeeded: 1, failed: 0, interrupted: 0 }, 1, 10, undefined)).to.equal('taskpool: 1 job in 0.01s: 1 succeeded, 0 failed');
    });

    it('draws the progress line within the terminal width, at most once per interval, and erases it', async () => {
      const { stderr } = fakeIO({ tty: true, columns: 20 });
      let draws = 0;
      const line = new ProgressLine(stderr, () => `taskpool: ${++draws}/10 done, 2 running`, 50, 60_000);
      line.clear();
      expect(stderr.text).to.equal('');
      line.update();
      line.update();
      line.update();
      expect(stderr.text).to.equal('\r\x1b[2Ktaskpool: 1/10 don…');
      await waitFor(() => draws === 2, 'the draw at the end of the interval');
      line.clear();
      line.clear();
      line.stop();
      line.update();
      expect(stderr.text).to.equal('\r\x1b[2Ktaskpool: 1/10 don…\r\x1b[2Ktaskpool: 2/10 don…\r\x1b[2K');
    });

    it('redraws on its own, and assumes 80 columns when the terminal does not tell', async () => {
      for (const columns of [undefined, 0]) {
        const stream = Object.assign(fakeIO().stderr, { columns });
        let draws = 0;
        const line = new ProgressLine(stream, () => (++draws, 'x'.repeat(100)), 0, 1);
        await waitFor(() => draws >= 2, 'a refresh');
        line.stop();
        expect(stream.text.split('\r\x1b[2K')[1]).to.equal(`${'x'.repeat(78)}…`);
      }
    });
  });

  describe('main (in process)', () => {
    it('prints the usage for --help and the version for --version', async () => {
      const help = fakeIO();
      expect(await main(['--help'], help.io)).to.equal(0);
      expect(help.stdout.text).to.match(/^Usage: taskpool \[options\] \[--\] command/).and.include('here 3)');
      const version = fakeIO();
      expect(await main(['--version'], version.io)).to.equal(0);
      expect(version.stdout.text).to.equal('taskpool 9.9.9\n');
    });

    it('prints one line and the usage for bad usage, exit 2', async () => {
      const { io, stdout, stderr } = fakeIO();
      expect(await main(['-j', '0', 'echo'], io)).to.equal(2);
      expect(stderr.text).to.match(/^taskpool: invalid --jobs '0': expected a positive integer\n\nUsage: /);
      expect(stdout.text).to.equal('');
    });

    it('runs every input from :::, each output in one piece, and prints a summary', async () => {
      const { io, stdout, stderr } = fakeIO();
      const code = await main(['-j', '3', '--', 'sh', '-c', 'echo {}-1; sleep 0.05; echo {}-2', ':::', 'a', 'b', 'c'], io);
      expect(code).to.equal(0);
      const lines = stdout.text.trim().split('\n');
      expect(lines).to.have.length(6);
      for (let i = 0; i < 6; i += 2) expect(lines[i + 1]).to.equal(lines[i]!.replace('-1', '-2'));
      expect(lines.filter((_, i) => i % 2 === 0).sort()).to.deep.equal(['a-1', 'b-1', 'c-1']);
      expect(stderr.text).to.match(/^taskpool: 3 jobs in \d+\.\d+s: 3 succeeded, 0 failed\n$/);
      expect(stderr.text).not.to.include('\x1b');
    });

    it('prints output as jobs complete by default', async () => {
      const { io, stdout } = fakeIO();
      // The first job finishes only once the second one's output has been printed.
      stdout.onWrite = (text) => {
        if (text.includes('second')) writeFileSync(dir.file('go'), '');
      };
      const wait = `while [ ! -e ${dir.file('go')} ]; do sleep 0.01; done`;
      const code = await main(['-j', '2', '--', 'sh', '-c', `[ {} = first ] && { ${wait}; }; echo {}`, ':::', 'first', 'second'], io);
      expect(code).to.equal(0);
      expect(stdout.text).to.equal('second\nfirst\n');
    });

    it('prints output in input order with --keep-order', async () => {
      const { io, stdout } = fakeIO();
      const code = await main(['-k', '-j', '3', '--', 'sh', '-c', 'sleep {}; echo {}', ':::', '0.2', '0.1', '0'], io);
      expect(code).to.equal(0);
      expect(stdout.text).to.equal('0.2\n0.1\n0\n');
    });

    it('prints one JSON object per job with --json', async () => {
      const { io, stdout, stderr } = fakeIO();
      const code = await main(['--json', '-k', '--', 'sh', '-c', 'echo out {}; echo err >&2; exit {}', ':::', '0', '3'], io);
      expect(code).to.equal(1);
      const [ok, failed] = jsonLines(stdout.text);
      expect(ok).to.deep.include({ seq: 1, input: '0', exitCode: 0, signal: null, timedOut: false, attempts: 1, stdout: 'out 0\n', stderr: 'err\n', error: null });
      expect(ok!.durationMs).to.be.a('number');
      expect(failed).to.deep.include({ seq: 2, input: '3', exitCode: 3, stdout: 'out 3\n', stderr: 'err\n' });
      expect(stderr.text).to.match(/^taskpool: 2 jobs in .*: 1 succeeded, 1 failed\n$/);
    });

    it('reports failures on stderr after the job\'s own output, exit 1', async () => {
      const { io, stdout, stderr } = fakeIO();
      const code = await main(['-k', '--', 'sh', '-c', 'echo o{}; echo e{} >&2; exit {}', ':::', '0', '2'], io);
      expect(code).to.equal(1);
      expect(stdout.text).to.equal('o0\no2\n');
      expect(stderr.text).to.match(/^e0\ne2\ntaskpool: job 2 failed with exit code 2: sh -c 'echo o2; echo e2 >&2; exit 2'\ntaskpool: 2 jobs/);
    });

    it('stops a job after --timeout', async () => {
      const { io, stdout } = fakeIO();
      const code = await main(['--json', '--timeout', '200ms', '--', 'sh', '-c', `echo $$ > ${dir.file('pid')}; exec sleep {}`, ':::', '100'], io);
      expect(code).to.equal(1);
      expect(jsonLines(stdout.text)[0]).to.deep.include({ exitCode: null, signal: 'SIGTERM', timedOut: true });
      await waitGone([readPid(dir.file('pid'))]);
      const text = fakeIO();
      await main(['--timeout', '0.05', 'sleep', ':::', '100'], text.io);
      expect(text.stderr.text).to.match(/^taskpool: job 1 timed out after 50 ms \(stopped with SIGTERM\): sleep 100\n/);
    });

    it('retries a failed job up to --retries more times', async () => {
      const { io, stdout } = fakeIO();
      // Fails on the first attempt of each input, succeeds on the second.
      const flaky = `if [ -e ${dir.path}/{} ]; then echo ok {}; else touch ${dir.path}/{}; exit 1; fi`;
      expect(await main(['--json', '-k', '--retries', '1', '--', 'sh', '-c', flaky, ':::', 'a', 'b'], io)).to.equal(0);
      expect(jsonLines(stdout.text).map((line) => [line.input, line.attempts, line.stdout])).to.deep.equal([
        ['a', 2, 'ok a\n'],
        ['b', 2, 'ok b\n'],
      ]);
      const failing = fakeIO();
      expect(await main(['--retries', '2', '--', 'sh', '-c', `echo x >> ${dir.file('count')}; exit 1`, ':::', 'z'], failing.io)).to.equal(1);
      expect(readFileSync(dir.file('count'), 'utf8')).to.equal('x\nx\nx\n');
      expect(failing.stderr.text).to.include('taskpool: job 1 failed with exit code 1 after 3 attempts');
    });

    it('starts nothing more after a failure with --halt-on-error, and lets running jobs finish', async () => {
      const { io, stdout, stderr } = fakeIO();
      const script = `[ {} = fail ] && exit 1; [ {} = slow ] && sleep 0.1; echo {}`;
      const code = await main(['--halt-on-error', '-j', '2', '--', 'sh', '-c', script, ':::', 'fail', 'slow', 'later', 'last'], io);
      expect(code).to.equal(1);
      expect(stdout.text).to.equal('slow\n');
      expect(stderr.text).to.match(/taskpool: 4 jobs in .*: 1 succeeded, 1 failed, 2 not started \(halted after a failure\)\n$/);
    });

    it('retries nothing more once halted', async () => {
      const { io, stderr } = fakeIO();
      // Job 2 fails only once job 1 has failed (twice) and halted the run.
      stderr.onWrite = (text) => {
        if (text.includes('job 1 failed')) writeFileSync(dir.file('go'), '');
      };
      const script = `[ {} = b ] && while [ ! -e ${dir.file('go')} ]; do sleep 0.01; done; exit 1`;
      const code = await main(['--halt-on-error', '--retries', '1', '-j', '2', 'sh', '-c', script, ':::', 'a', 'b', 'c'], io);
      expect(code).to.equal(1);
      expect(stderr.text).to.match(/^taskpool: job 1 failed with exit code 1 after 2 attempts: .*\ntaskpool: job 2 failed with exit code 1: /);
      expect(stderr.text).to.match(/: 0 succeeded, 2 failed, 1 not started \(halted after a failure\)\n$/);
    });

    it('reports a command that cannot start', async () => {
      const { io, stdout, stderr } = fakeIO();
      expect(await main(['taskpool-no-such-command', ':::', 'a'], io)).to.equal(1);
      expect(stderr.text).to.match(/^taskpool: job 1 could not start \(spawn taskpool-no-such-command ENOENT\): taskpool-no-such-command a\n/);
      const json = fakeIO();
      await main(['--json', 'taskpool-no-such-command', ':::', 'a'], json.io);
      expect(jsonLines(json.stdout.text)[0]).to.deep.include({ exitCode: null, durationMs: null, error: 'spawn taskpool-no-such-command ENOENT', stdout: '' });
      expect(stdout.text).to.equal('');
    });

    it('reads inputs from stdin, one per line, skipping empty lines', async () => {
      const { io, stdout } = fakeIO({ stdin: 'a\r\nb c\n\n d\n' });
      expect(await main(['-k', 'printf', '[%s]'], io)).to.equal(0);
      expect(stdout.text).to.equal('[a][b c][ d]');
    });

    it('succeeds with no inputs at all', async () => {
      const { io, stderr } = fakeIO({ stdin: '' });
      expect(await main(['echo'], io)).to.equal(0);
      expect(stderr.text).to.match(/^taskpool: 0 jobs in .*: 0 succeeded, 0 failed\n$/);
    });

    it('fails when stdin cannot be read', async () => {
      const stdin = new Readable({ read() {} });
      const { io, stderr } = fakeIO({ stdin });
      const run = main(['echo'], io);
      stdin.push('a\n');
      stdin.destroy(new Error('disk on fire'));
      expect(await run).to.equal(1);
      expect(stderr.text).to.match(/succeeded, 0 failed \(cannot read inputs: disk on fire\)\n$/);
    });

    it('shows a progress line on a terminal, erased before output and at the end', async () => {
      const { io, stdout, stderr } = fakeIO({ tty: true, columns: 200, stdin: 'a\nb\n' });
      expect(await main(['-j', '1', 'echo'], io)).to.equal(0);
      expect(stdout.text).to.equal('a\nb\n');
      expect(stderr.text).to.match(/^taskpool: reading inputs from the terminal, one per line \(end with Ctrl-D\)\n/);
      expect(stderr.text).to.include('\r\x1b[2Ktaskpool: 0/? done, 0 running, 0 failed');
      const summary = stderr.text.slice(stderr.text.lastIndexOf('\r\x1b[2K') + 5);
      expect(summary).to.match(/^taskpool: 2 jobs in .*: 2 succeeded, 0 failed\n$/);
    });

    it('stops on SIGINT: starts nothing more, terminates running children, exit 130', async () => {
      const { io, stdout, stderr, raise, handlers } = fakeIO();
      const script = `echo $$ > ${dir.path}/pid-{}; sleep 100 & echo $! > ${dir.path}/sleep-{}; wait`;
      const run = main(['--json', '-j', '2', 'sh', '-c', script, ':::', '1', '2', '3'], io);
      await waitForFile(join(dir.path, 'sleep-1'));
      await waitForFile(join(dir.path, 'sleep-2'));
      expect(handlers()).to.equal(1);
      raise('SIGINT');
      raise('SIGINT');
      expect(await run).to.equal(130);
      expect(handlers()).to.equal(0);
      const lines = jsonLines(stdout.text);
      expect(lines.map((line) => line.error)).to.deep.equal(['interrupted', 'interrupted']);
      expect(stderr.text).to.match(/: 0 succeeded, 0 failed, 2 interrupted, 1 not started \(interrupted by SIGINT\)\n$/);
      await waitGone(['pid-1', 'sleep-1', 'pid-2', 'sleep-2'].map((name) => readPid(join(dir.path, name))));
    });

    it('stops on SIGTERM while reading stdin, exit 143', async () => {
      const stdin = new Readable({ read() {} });
      const { io, stdout, raise } = fakeIO({ stdin });
      const run = main(['echo'], io);
      stdin.push('a\n');
      await waitFor(() => stdout.text === 'a\n', 'the first job');
      raise('SIGTERM');
      stdin.push('b\n'); // read after the stop: not run, not counted
      expect(await run).to.equal(143);
    });

    it('stops when stdout is closed', async () => {
      const { io, stdout, stderr } = fakeIO();
      stdout.onWrite = () => stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      const code = await main(['-j', '1', 'echo', ':::', 'a', 'b', 'c'], io);
      expect(code).to.equal(1);
      expect(stdout.text).to.equal('a\n');
      // Job 2 started when job 1 finished, before job 1's output was written.
      expect(stderr.text).to.match(/: 1 succeeded, 0 failed, 1 interrupted, 1 not started \(cannot write output: EPIPE\)\n$/);
    });
  });

  describe('the real process', function () {
    // Each test starts Node itself, which can take seconds on a loaded machine.
    this.timeout(15_000);

    it('reads the package version from package.json, from dist and from a copy elsewhere', () => {
      expect(packageVersion(DIST_CLI)).to.equal(VERSION);
      mkdirSync(dir.file('pkg/dist'), { recursive: true });
      writeFileSync(dir.file('pkg/package.json'), JSON.stringify({ name: 'taskpool', version: '1.2.3' }));
      writeFileSync(dir.file('pkg/dist/package.json'), '{ not json');
      expect(packageVersion(dir.file('pkg/dist/cli.js'))).to.equal('1.2.3');
      expect(packageVersion('/cli.js')).to.equal('unknown');
    });

    it('wires the process\'s streams and signals', () => {
      const io = nodeIO();
      expect(io.stdout).to.equal(process.stdout);
      expect(io.defaultJobs).to.be.a('number').and.at.least(1);
      expect(io.version()).to.be.a('string');
      const before = process.listenerCount('SIGINT');
      const remove = io.onSignal(() => {});
      expect(process.listenerCount('SIGINT')).to.equal(before + 1);
      remove();
      expect(process.listenerCount('SIGINT')).to.equal(before);
    });

    it('is built with a shebang, and answers --version from dist (ESM and CommonJS)', async () => {
      expect(readFileSync(DIST_CLI, 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
      expect(readFileSync(DIST_CLI_CJS, 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
      expect((await runCli(DIST_CLI, ['--version'])).stdout).to.equal(`taskpool ${VERSION}\n`);
      expect((await runCli(DIST_CLI_CJS, ['--version'])).stdout).to.equal(`taskpool ${VERSION}\n`);
    });

    it('runs inputs piped on stdin and exits with the right status', async () => {
      const ok = await runCli(DIST_CLI, ['-k', '--', 'echo', 'got'], { stdin: 'a\nb\n' });
      expect(ok).to.deep.include({ code: 0, stdout: 'got a\ngot b\n' });
      expect(ok.stderr).to.match(/^taskpool: 2 jobs in .*: 2 succeeded, 0 failed\n$/);
      const failed = await runCli(BUILD_CLI, ['sh', '-c', 'exit {}', ':::', '0', '1']);
      expect(failed.code).to.equal(1);
      const usage = await runCli(BUILD_CLI, ['--bogus']);
      expect(usage.code).to.equal(2);
      expect(usage.stderr.split('\n')[0]).to.equal("taskpool: unknown option '--bogus'");
    });

    it('handles Ctrl-C (SIGINT): terminates the children, prints the summary, exits 130', async () => {
      const script = `echo $$ > ${dir.path}/pid-{}; sleep 100 & echo $! > ${dir.path}/sleep-{}; wait`;
      const run = await runCli(BUILD_CLI, ['-j', '2', 'sh', '-c', script, ':::', '1', '2', '3'], {
        onSpawn: (pid) => {
          void Promise.all([waitForFile(join(dir.path, 'sleep-1')), waitForFile(join(dir.path, 'sleep-2'))]).then(() => process.kill(pid, 'SIGINT'));
        },
      });
      expect(run).to.deep.include({ code: 130, signal: null });
      expect(run.stderr).to.match(/^taskpool: 3 jobs in .*: 0 succeeded, 0 failed, 2 interrupted, 1 not started \(interrupted by SIGINT\)\n$/);
      await waitGone(['pid-1', 'sleep-1', 'pid-2', 'sleep-2'].map((name) => readPid(join(dir.path, name))));
    });

    it('draws the progress line in a real terminal (script)', function () {
      const probe = spawnSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore' });
      if (probe.error !== undefined || probe.status !== 0) this.skip();
      // Jobs slower than the progress line's 100 ms interval, so that each one shows.
      const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BUILD_CLI)} -j 1 -- sh -c 'sleep 0.2; echo out-{}' ::: a b c`;
      const run = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
      expect(run.status).to.equal(0);
      const screen = run.stdout;
      expect(screen).to.include('\x1b[2Ktaskpool: 0/3 done, 0 running, 0 failed');
      expect(screen).to.match(/taskpool: [12]\/3 done, [01] running, 0 failed/);
      expect(screen).to.match(/out-a\r?\n/);
      expect(screen).to.match(/out-c\r?\ntaskpool: 3 jobs in [\d.]+s: 3 succeeded, 0 failed\r?\n$/);
      const piped = spawnSync(process.execPath, [BUILD_CLI, 'echo', ':::', 'a'], { encoding: 'utf8' });
      expect(piped.stderr).not.to.include('\x1b');
    });
  });
});
