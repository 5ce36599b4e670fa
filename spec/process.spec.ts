import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { asCompleted, CancelledError, settle, TimeoutError } from '../lib/index.js';
import { ProcessError, runProcess, type ProcessResult } from '../lib/process/index.js';
import { BUILD_PROCESS, DIST_PROCESS_CJS, isAlive, readPid, tempDir, waitFor, waitForExec, waitForFile, waitGone } from './fixtures/process/helpers.js';
import { pool } from './helpers.js';

const SH = 'sh';

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('taskpool/process: runProcess', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.cleanup());

  describe('outcomes', () => {
    it('resolves with the whole result of a successful run', async () => {
      const args = ['-c', 'echo out; echo err >&2'];
      const result = await runProcess(SH, args);
      expect(result).to.include({ command: SH, exitCode: 0, signal: null, stdout: 'out\n', stderr: 'err\n', timedOut: false });
      expect(result).to.include({ stdoutTruncated: false, stderrTruncated: false });
      expect(result.args).to.deep.equal(args);
      expect(result.args).not.to.equal(args);
      expect(result.pid).to.be.a('number');
      expect(result.durationMs).to.be.a('number').and.at.least(0);
      expect(JSON.parse(JSON.stringify(result))).to.deep.equal(result);
    });

    it('takes no arguments when args is omitted', async () => {
      expect((await runProcess('pwd')).stdout.trim()).to.equal(process.cwd());
    });

    it('rejects a non-zero exit with a ProcessError carrying the result and the last line of stderr', async () => {
      const error = await failure(runProcess(SH, ['-c', 'echo partial; echo first >&2; echo "it broke" >&2; exit 3']));
      expect(error).to.be.instanceOf(ProcessError).and.instanceOf(Error);
      const { result, name, message } = error as ProcessError;
      expect(name).to.equal('ProcessError');
      expect(message).to.equal(`Command failed with exit code 3: sh -c 'echo partial; echo first >&2; echo "it broke" >&2; exit 3'\nit broke`);
      expect(result).to.include({ exitCode: 3, signal: null, stdout: 'partial\n', timedOut: false });
    });

    it('resolves a failed run instead with reject: false', async () => {
      const result = await runProcess(SH, ['-c', 'exit 7'], { reject: false });
      expect(result).to.include({ exitCode: 7, signal: null, timedOut: false });
    });

    it('reports a child killed by a signal', async () => {
      const error = (await failure(runProcess(SH, ['-c', 'kill -KILL $$']))) as ProcessError;
      expect(error.result).to.include({ exitCode: null, signal: 'SIGKILL', timedOut: false });
      expect(error.message).to.equal('Command was killed by signal SIGKILL: sh -c \'kill -KILL $$\'');
    });

    it('rejects with Node\'s error when the command cannot start, whatever reject says', async () => {
      const error = (await failure(runProcess('taskpool-no-such-command', [], { reject: false }))) as NodeJS.ErrnoException;
      expect(error).not.to.be.instanceOf(ProcessError);
      expect(error.code).to.equal('ENOENT');
    });

    it('runs without a shell: arguments are passed as they are', async () => {
      const result = await runProcess('printf', ['%s|', '$HOME', '*', 'a b', "it's"]);
      expect(result.stdout).to.equal("$HOME|*|a b|it's|");
    });

    it('quotes and shortens the command line in messages', async () => {
      const long = 'x'.repeat(300);
      const error = (await failure(runProcess(SH, ['-c', 'exit 1', long]))) as ProcessError;
      expect(error.message).to.match(/^Command failed with exit code 1: sh -c 'exit 1' x+…$/);
      expect(error.message.length).to.be.lessThan(260);
    });
  });

  describe('input, output, cwd, env', () => {
    it('writes input to stdin, a string or bytes', async () => {
      expect((await runProcess('cat', [], { input: 'héllo\n' })).stdout).to.equal('héllo\n');
      expect((await runProcess('cat', [], { input: new Uint8Array([104, 105]) })).stdout).to.equal('hi');
    });

    it('gives an empty stdin without input', async () => {
      expect((await runProcess('cat')).stdout).to.equal('');
    });

    it('does not fail when the child does not read its input', async () => {
      const result = await runProcess('true', [], { input: 'x'.repeat(4 * 1024 * 1024) });
      expect(result.exitCode).to.equal(0);
    });

    it('captures large outputs on both streams', async () => {
      const result = await runProcess(SH, ['-c', 'head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2']);
      expect(result.stdout.length).to.equal(3_000_000);
      expect(result.stderr.length).to.equal(2_000_000);
      expect(result.stdoutTruncated).to.equal(false);
    });

    it('keeps at most maxOutput bytes per stream, flags the rest, and never blocks the child', async () => {
      const result = await runProcess(SH, ['-c', 'head -c 3000000 /dev/zero | tr "\\0" a; echo tail; echo e >&2'], { maxOutput: 1000 });
      expect(result.stdout).to.equal('a'.repeat(1000));
      expect(result).to.include({ stdoutTruncated: true, stderrTruncated: false, stderr: 'e\n', exitCode: 0 });
      const none = await runProcess('echo', ['x'], { maxOutput: 0 });
      expect(none).to.include({ stdout: '', stdoutTruncated: true });
    });

    it('runs in cwd with env as the whole environment', async () => {
      const result = await runProcess(SH, ['-c', 'pwd; echo "$TASKPOOL_X-${HOME:-unset}"'], { cwd: dir.path, env: { TASKPOOL_X: 'x', PATH: process.env.PATH } });
      const [cwd, env] = result.stdout.trim().split('\n');
      expect(cwd).to.match(/taskpool-process-/);
      expect(env).to.equal('x-unset');
      expect((await runProcess('pwd', [], { cwd: new URL(`file://${dir.path}`) })).stdout.trim()).to.equal(cwd);
    });
  });

  describe('a cwd that cannot be used', () => {
    it('names the missing cwd, not the command', async () => {
      const missing = dir.file('missing');
      const error = (await runProcess('echo', ['x'], { cwd: missing }).then(() => expect.fail('resolved'), (reason: unknown) => reason)) as NodeJS.ErrnoException;
      expect(error.message).to.equal(`Cannot run 'echo' as its working directory 'cwd' does not exist: current value is ${JSON.stringify(missing)}`);
      expect(error.message).not.to.include('spawn echo ENOENT');
      expect(error.code).to.equal('ENOENT');
      expect(error.path).to.equal(missing);
      expect((error.cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
    });

    it('names a cwd that is a file, given as a URL too, and rejects instead of throwing', async () => {
      const file = dir.file('file');
      writeFileSync(file, '');
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = runProcess('echo', ['x'], { cwd: pathToFileURL(file) }))).not.to.throw();
      const error = (await promise!.then(() => expect.fail('resolved'), (reason: unknown) => reason)) as NodeJS.ErrnoException;
      expect(error.message).to.equal(`Cannot run 'echo' as its working directory 'cwd' is not a directory: current value is ${JSON.stringify(file)}`);
      expect(error.code).to.equal('ENOTDIR');
    });

    it('still blames the command when the cwd exists', async () => {
      const error = (await runProcess('no-such-command-here', [], { cwd: dir.path }).then(() => expect.fail('resolved'), (reason: unknown) => reason)) as NodeJS.ErrnoException;
      expect(error.code).to.equal('ENOENT');
      expect(error.message).to.include('no-such-command-here');
      expect(error.message).not.to.include('cwd');
    });
  });

  describe('timeout and cancellation', () => {
    it('stops the child on timeout, rejects with timedOut, and leaves no process behind', async () => {
      const script = `echo $$ > ${dir.file('pid')}; sleep 100 & echo $! > ${dir.file('sleep')}; wait`;
      const error = (await failure(runProcess(SH, ['-c', script], { timeout: 200 }))) as ProcessError;
      expect(error).to.be.instanceOf(ProcessError);
      expect(error.result).to.include({ timedOut: true, exitCode: null, signal: 'SIGTERM' });
      expect(error.message).to.match(/^Command timed out after 200 ms \(stopped with SIGTERM\): sh -c/);
      expect(isAlive(error.result.pid)).to.equal(false);
      await waitGone([readPid(dir.file('pid')), readPid(dir.file('sleep'))]);
    });

    it('resolves a timed-out run with reject: false, and uses killSignal', async () => {
      const result = await runProcess('sleep', ['100'], { timeout: 20, reject: false, killSignal: 'SIGINT' });
      expect(result).to.include({ timedOut: true, signal: 'SIGINT', exitCode: null });
    });

    it('sends SIGKILL after gracePeriod to a child that ignores SIGTERM', async () => {
      const controller = new AbortController();
      const run = runProcess(SH, ['-c', `trap "" TERM; sleep 100 & echo $! > ${dir.file('sleep')}; touch ${dir.file('ready')}; wait`], {
        signal: controller.signal,
        gracePeriod: 30,
      });
      await waitForFile(dir.file('ready'));
      const reason = new Error('stop now');
      controller.abort(reason);
      expect(await failure(run)).to.equal(reason);
      await waitGone([readPid(dir.file('sleep'))]);
    });

    it('stops the whole group when the leader has exited and a grandchild keeps the output open', async () => {
      const controller = new AbortController();
      const run = runProcess(SH, ['-c', `sleep 100 & echo $! > ${dir.file('sleep')}; echo $$ > ${dir.file('pid')}`], { signal: controller.signal });
      await waitForFile(dir.file('pid'));
      await waitGone([readPid(dir.file('pid'))]);
      controller.abort();
      expect(await failure(run)).to.equal(controller.signal.reason);
      await waitGone([readPid(dir.file('sleep'))]);
    });

    it('stops waiting for output held open by a process outside the group once the grace period is over', async () => {
      const controller = new AbortController();
      const run = runProcess(SH, ['-c', `setsid sh -c 'echo $$ > ${dir.file('escaped')}; exec sleep 100' & wait`], { signal: controller.signal, gracePeriod: 20 });
      await waitForFile(dir.file('escaped'));
      controller.abort();
      expect(await failure(run)).to.equal(controller.signal.reason);
      const escaped = readPid(dir.file('escaped'));
      expect(isAlive(escaped)).to.equal(true);
      process.kill(escaped, 'SIGKILL');
      await waitGone([escaped]);
    });

    it('rejects with the abort reason, unchanged, once the child has exited', async () => {
      const controller = new AbortController();
      const run = runProcess(SH, ['-c', `echo $$ > ${dir.file('pid')}; exec sleep 100`], { signal: controller.signal });
      await waitForFile(dir.file('pid'));
      const pid = readPid(dir.file('pid'));
      controller.abort();
      const error = await failure(run);
      expect(error).to.equal(controller.signal.reason);
      expect(isAlive(pid)).to.equal(false);
    });

    it('starts nothing when the signal is already aborted', async () => {
      const reason = new Error('early');
      const error = await failure(runProcess(SH, ['-c', `touch ${dir.file('ran')}`], { signal: AbortSignal.abort(reason) }));
      expect(error).to.equal(reason);
    });

    it('ignores an abort after the run has finished', async () => {
      const controller = new AbortController();
      const result = await runProcess('true', [], { signal: controller.signal, timeout: 10_000 });
      controller.abort();
      expect(result.exitCode).to.equal(0);
    });

    it('kills its running children when the parent process exits', async function () {
      this.timeout(15_000); // starts Node itself
      const script = `
        const { runProcess } = await import(${JSON.stringify(BUILD_PROCESS)});
        const { existsSync } = await import('node:fs');
        runProcess('sh', ['-c', 'echo $$ > ${dir.file('pid')}; sleep 100 & echo $! > ${dir.file('sleep')}; wait']);
        runProcess('sleep', ['100']);
        setInterval(() => existsSync(${JSON.stringify(dir.file('sleep'))}) && process.exit(0), 5);`;
      const result = await runProcess(process.execPath, ['--input-type=module', '-e', script], { reject: false });
      expect(result.exitCode).to.equal(0);
      await waitGone([readPid(dir.file('pid')), readPid(dir.file('sleep'))]);
    });
    it('passes an unhandled Ctrl-C (SIGINT) on to its children, then ends the parent by it', async function () {
      this.timeout(15_000); // starts Node itself
      writeFileSync(dir.file('inner.sh'), `echo $$ > ${dir.file('inner')}; exec sleep 100`);
      const script = `
        const { runProcess } = await import(${JSON.stringify(BUILD_PROCESS)});
        runProcess('sh', ['-c', 'echo $$ > ${dir.file('outer')}; sh ${dir.file('inner.sh')}; echo survived']).catch(() => {});`;
      const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => parent.on('exit', (_code, signal) => resolve(signal)));
      await waitForFile(dir.file('inner'));
      // The pid file is written by the shell before it becomes `sleep`: a Ctrl-C in between is
      // caught by that shell and lost in its `exec` (seen under load), which no terminal's Ctrl-C
      // would do better. The signal goes once the command runs.
      await waitFor(() => readFileSync(dir.file('inner'), 'utf8').endsWith('\n'), 'the pid file written');
      await waitForExec(readPid(dir.file('inner')), 'sleep');
      parent.kill('SIGINT');
      expect(await exited).to.equal('SIGINT');
      const pids = [readPid(dir.file('outer')), readPid(dir.file('inner'))];
      expect(pids[0]).not.to.equal(pids[1]);
      await waitGone(pids);
    });

    it('leaves a signal the application handles to the application', async function () {
      this.timeout(15_000); // starts Node itself
      const script = `
        const { runProcess } = await import(${JSON.stringify(BUILD_PROCESS)});
        process.on('SIGTERM', () => { console.log('handled'); process.exit(3); });
        runProcess('sh', ['-c', 'echo $$ > ${dir.file('pid')}; exec sleep 100']).catch(() => {});`;
      const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      parent.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const exited = new Promise<number | null>((resolve) => parent.on('exit', (code) => resolve(code)));
      await waitForFile(dir.file('pid'));
      parent.kill('SIGTERM');
      expect(await exited).to.equal(3);
      expect(output).to.equal('handled\n');
      await waitGone([readPid(dir.file('pid'))]); // killed on exit
    });
  });

  describe('with executors', () => {
    it('runs through pool.submit(runProcess, command, args)', async () => {
      const executor = pool({ maxWorkers: 2 });
      const result: ProcessResult = await executor.submit(runProcess, 'echo', ['hi']);
      expect(result.stdout).to.equal('hi\n');
    });

    it('gives per-run outcomes with map(settle(...)) and asCompleted', async () => {
      const executor = pool({ maxWorkers: 2 });
      const outcomes = [];
      for await (const r of executor.map(settle((code: string) => runProcess(SH, ['-c', `exit ${code}`])), ['0', '4', '0'])) outcomes.push(r);
      expect(outcomes.map((r) => r.ok)).to.deep.equal([true, false, true]);
      expect(((outcomes[1] as { error: ProcessError }).error).result.exitCode).to.equal(4);

      const futures = ['0', '5'].map((code) => executor.submit(runProcess, SH, ['-c', `exit ${code}`]));
      const codes: (number | null)[] = [];
      for await (const { result } of asCompleted(futures)) codes.push(result.ok ? result.value.exitCode : (result.error as ProcessError).result.exitCode);
      expect(codes.sort()).to.deep.equal([0, 5]);
    });

    it('stops the child when a pool.run future is cancelled, keeping the slot until it has exited', async () => {
      const executor = pool({ maxWorkers: 1 });
      const future = executor.run(({ signal }) => runProcess(SH, ['-c', `echo $$ > ${dir.file('pid')}; exec sleep 100`], { signal }));
      await waitForFile(dir.file('pid'));
      const pid = readPid(dir.file('pid'));
      expect(future.cancel()).to.equal(true);
      expect(future.state).to.equal('cancelled');
      expect(executor.stats.running).to.equal(1);
      await executor.onIdle();
      expect(isAlive(pid)).to.equal(false);
      expect(await failure(future.result())).to.be.instanceOf(CancelledError);
    });

    it('stops the child when a pool.run timeout passes', async () => {
      const executor = pool({ maxWorkers: 1 });
      const future = executor.run(({ signal }) => runProcess(SH, ['-c', `echo $$ > ${dir.file('pid')}; exec sleep 100`], { signal }), { timeout: 200 });
      expect(await future.exception()).to.be.instanceOf(TimeoutError);
      await executor.onIdle();
      await waitGone([readPid(dir.file('pid'))]);
    });
  });

  describe('ProcessError', () => {
    it('is recognised across the ESM and CommonJS builds, and by subclasses as usual', async () => {
      const cjs = createRequire(import.meta.url)(DIST_PROCESS_CJS) as typeof import('../lib/process/index.js');
      const error = (await failure(cjs.runProcess(SH, ['-c', 'exit 2']))) as ProcessError;
      expect(error).to.be.instanceOf(ProcessError);
      expect(error).to.be.instanceOf(cjs.ProcessError);
      class MyError extends ProcessError {}
      const mine = new MyError(error.result);
      expect(mine).to.be.instanceOf(MyError).and.instanceOf(ProcessError);
      expect(error).not.to.be.instanceOf(MyError);
      expect({}).not.to.be.instanceOf(ProcessError);
      expect(new Error('x')).not.to.be.instanceOf(ProcessError);
    });

    it('names a timeout without its duration when none is known, and a signal-less timeout', () => {
      const result: ProcessResult = {
        command: 'x', args: [], pid: 1, exitCode: 0, signal: null, stdout: '', stderr: 'y'.repeat(300),
        stdoutTruncated: false, stderrTruncated: false, durationMs: 1, timedOut: true,
      };
      const error = new ProcessError(result);
      expect(error.message).to.equal(`Command timed out: x\n${'y'.repeat(199)}…`);
    });
  });

  describe('argument checks', () => {
    const cases: [string, () => unknown, typeof TypeError, RegExp][] = [
      ['command', () => runProcess(''), TypeError, /'command' must be a non-empty string: current value is ""/],
      ['command type', () => runProcess(3 as never), TypeError, /'command' must be a non-empty string/],
      ['args', () => runProcess('x', 'a' as never), TypeError, /'args' must be an array of strings: current value is "a"/],
      ['args[1]', () => runProcess('x', ['a', 2 as never]), TypeError, /'args\[1\]' must be a string: current value is 2/],
      ['unknown option', () => runProcess('x', [], { shell: true } as never), TypeError, /unknown key "shell"/],
      ['options type', () => runProcess('x', [], 5 as never), TypeError, /'options' must be an object/],
      ['timeout', () => runProcess('x', [], { timeout: -1 }), RangeError, /'timeout' must be a non-negative number of milliseconds: current value is -1/],
      ['signal', () => runProcess('x', [], { signal: {} as never }), TypeError, /'signal' must be an AbortSignal/],
      ['cwd', () => runProcess('x', [], { cwd: 1 as never }), TypeError, /'cwd' must be a string or URL/],
      ['env', () => runProcess('x', [], { env: null as never }), TypeError, /'env' must be an object: current value is null/],
      ['input', () => runProcess('x', [], { input: 5 as never }), TypeError, /'input' must be a string or Uint8Array/],
      ['maxOutput type', () => runProcess('x', [], { maxOutput: '1' as never }), TypeError, /'maxOutput' must be a non-negative number of bytes/],
      ['maxOutput range', () => runProcess('x', [], { maxOutput: NaN }), RangeError, /'maxOutput' must be a non-negative number of bytes: current value is NaN/],
      ['reject', () => runProcess('x', [], { reject: 'no' as never }), TypeError, /'reject' must be a boolean/],
      ['killSignal type', () => runProcess('x', [], { killSignal: 9 as never }), TypeError, /'killSignal' must be a string/],
      ['killSignal name', () => runProcess('x', [], { killSignal: 'SIGNOPE' as never }), RangeError, /'killSignal' must be a signal name such as "SIGTERM": current value is "SIGNOPE"/],
      ['gracePeriod', () => runProcess('x', [], { gracePeriod: -5 }), RangeError, /'gracePeriod' must be a non-negative number/],
    ];
    for (const [name, call, Kind, pattern] of cases) {
      it(`rejects the returned promise, never throws, for a bad ${name}`, async () => {
        let promise: unknown;
        expect(() => (promise = call())).not.to.throw();
        expect(promise).to.be.an.instanceOf(Promise);
        const error = await (promise as Promise<unknown>).then(
          () => expect.fail('resolved'),
          (reason: unknown) => reason,
        );
        expect(error).to.be.an.instanceOf(Kind);
        expect((error as Error).message).to.match(/^Cannot run a process as /).and.to.match(pattern);
      });
    }
  });
});
