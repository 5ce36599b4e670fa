import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { invalidArguments, main, nodeIO, packageVersion } from '../lib/process/cli-main.js';
import { randomBytes } from 'node:crypto';
import { InvalidInput, jobInputs, records } from '../lib/process/cli-inputs.js';
import { parseArguments, parseDuration, parseHalt, UsageError, type InputSource } from '../lib/process/cli-options.js';
import { armTimeout, MedianLimit } from '../lib/process/cli-job.js';
import { claimDirectory, processRuns, releaseDirectory, removeStale } from '../lib/process/cli-tempdir.js';
import { HELPER } from '../lib/process/cli-launcher.js';
import { LineCutter, LineOrder, Output, Spool, spooledInMemory, SPOOL_MEMORY, Tagger } from '../lib/process/cli-output.js';
import { CommandTemplate, shellQuote, transform } from '../lib/process/cli-placeholders.js';
import { formatBar, formatClock, formatElapsed, formatProgress, formatSummary, ProgressLine } from '../lib/process/cli-progress.js';
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
import { flush } from './helpers.js';
import { FakeClock } from './reliability/clock.js';

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

/** A stdout that holds every write until the test calls its callback (from `held`): a reader that is behind. */
function heldStdout(): { stdout: Writable; held: (() => void)[]; received(): number } {
  const held: (() => void)[] = [];
  let received = 0;
  const stdout = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      held.push(callback);
    },
  });
  return { stdout, held, received: () => received };
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

  /** `cat` of a 100 kB and a 3 MB random file: stdout gets both byte for byte, and no spool is left. */
  async function expectBinaryPassedThrough(directSpawn: boolean): Promise<void> {
    const small = randomBytes(100_000);
    const large = randomBytes(3 << 20);
    writeFileSync(dir.file('small'), small);
    writeFileSync(dir.file('large'), large);
    mkdirSync(dir.file('tmp'));
    const { io, stdout } = fakeIO({ tmpdir: dir.file('tmp'), directSpawn });
    expect(await main(['-k', 'cat', ':::', dir.file('small'), dir.file('large')], io)).to.equal(0);
    expect(stdout.bytes.equals(Buffer.concat([small, large]))).to.equal(true);
    expect(readdirSync(dir.file('tmp'))).to.deep.equal([]);
    expect(spooledInMemory()).to.equal(0);
  }

  describe('arguments', () => {
    const defaults = {
      jobs: 2, timeout: undefined, retries: 1, keepOrder: false, json: false, halt: undefined, sources: [], delimiter: '\n', maxArgs: 1,
      shell: false, dryRun: false, joblog: undefined, resume: 'no', tag: false, lineBuffer: false, quiet: false, progress: 'auto',
    };

    it('reads options, then the command, then the inputs after :::', () => {
      expect(parseArguments(['-j', '4', '--timeout', '30s', '--retries=2', '-k', '--json', '--halt-on-error', '--', 'gzip', '-k', '{}', ':::', 'a', 'b'], 2)).to.deep.equal({
        kind: 'run',
        options: {
          ...defaults, jobs: 4, timeout: 30_000, retries: 2, keepOrder: true, json: true, halt: { when: 'soon', why: 'fail', count: 1, percent: false },
          command: ['gzip', '-k', '{}'], sources: [{ kind: 'values', values: ['a', 'b'] }],
        },
      });
      const plain = parseArguments(['-j8', '--jobs=3', '--keep-order', 'echo', '-n', '--json'], 2);
      expect(plain).to.deep.equal({ kind: 'run', options: { ...defaults, jobs: 3, keepOrder: true, command: ['echo', '-n', '--json'] } });
      expect(parseArguments(['-', 'x'], 2)).to.have.nested.property('options.command').that.deep.equals(['-', 'x']);
      expect(parseArguments(['cat', ':::'], 2)).to.have.nested.property('options.sources').that.deep.equals([{ kind: 'values', values: [] }]);
    });

    it('reads several ::: groups, :::: files and -a files as separate sources, never as inputs', () => {
      expect(parseArguments(['-a', 'f0', 'echo', ':::', 'a', ':::', '1', '2', '::::', 'f1', 'f2', ':::', 'z'], 2)).to.have.nested.property('options.sources').that.deep.equals([
        { kind: 'file', path: 'f0' },
        { kind: 'values', values: ['a'] },
        { kind: 'values', values: ['1', '2'] },
        { kind: 'file', path: 'f1' },
        { kind: 'file', path: 'f2' },
        { kind: 'values', values: ['z'] },
      ]);
    });

    it("reads GNU parallel's options, combined short options included", () => {
      const options = (argv: string[]): Record<string, unknown> => (parseArguments(argv, 2) as unknown as { options: Record<string, unknown> }).options;
      expect(options(['-kj2', 'x'])).to.deep.include({ keepOrder: true, jobs: 2 });
      expect(options(['-0k', '-n2', 'x'])).to.deep.include({ delimiter: '\0', keepOrder: true, maxArgs: 2 });
      expect(options(['--null', 'x'])).to.deep.include({ delimiter: '\0' });
      expect(options(['-d', ',', 'x'])).to.deep.include({ delimiter: ',' });
      expect(options(['-d', '\\t', 'x'])).to.deep.include({ delimiter: '\t' });
      expect(options(['--delimiter=\\0', 'x'])).to.deep.include({ delimiter: '\0' });
      expect(options(['--retries', '0', 'x'])).to.deep.include({ retries: 1 });
      expect(options(['--retries', '3', 'x'])).to.deep.include({ retries: 3 });
      expect(options(['--shell', '--dry-run', '--tag', '--line-buffer', '--quiet', '--bar', 'x'])).to.deep.include({
        shell: true, dryRun: true, tag: true, lineBuffer: true, quiet: true, progress: 'bar',
      });
      expect(options(['--lb', '--eta', 'x'])).to.deep.include({ lineBuffer: true, progress: 'line' });
      expect(options(['--progress', 'x'])).to.deep.include({ progress: 'line' });
      expect(options(['--group', 'x'])).to.deep.include({ lineBuffer: false, command: ['x'] });
      expect(options(['--joblog', 'log', '--resume', 'x'])).to.deep.include({ joblog: 'log', resume: 'all' });
      expect(options(['--joblog=log', '--resume-failed', 'x'])).to.deep.include({ joblog: 'log', resume: 'failed' });
      expect(options(['--halt-on-error', '2', 'x'])).to.deep.include({ halt: { when: 'now', why: 'fail', count: 1, percent: false }, command: ['x'] });
      expect(options(['--halt-on-error=0', 'x'])).to.deep.include({ halt: undefined });
    });

    it("reads --halt in GNU parallel's forms", () => {
      expect(parseHalt('now,fail=1')).to.deep.equal({ when: 'now', why: 'fail', count: 1, percent: false });
      expect(parseHalt('soon,success=3')).to.deep.equal({ when: 'soon', why: 'success', count: 3, percent: false });
      expect(parseHalt('now,done=50%')).to.deep.equal({ when: 'now', why: 'done', count: 50, percent: true });
      expect(parseHalt('1')).to.deep.equal({ when: 'soon', why: 'fail', count: 1, percent: false });
      expect(parseHalt('2')).to.deep.equal({ when: 'now', why: 'fail', count: 1, percent: false });
      expect(parseHalt('-1')).to.deep.equal({ when: 'soon', why: 'success', count: 1, percent: false });
      expect(parseHalt('-2')).to.deep.equal({ when: 'now', why: 'success', count: 1, percent: false });
      expect(parseHalt('30%')).to.deep.equal({ when: 'soon', why: 'fail', count: 30, percent: true });
      expect(parseHalt('0')).to.equal(undefined);
      expect(parseHalt('never')).to.equal(undefined);
      for (const bad of ['now', 'now,fail=0', 'later,fail=1', 'now,fail=1.5', 'soon,fail=101%', '3']) expect(() => parseHalt(bad), bad).to.throw(UsageError, `invalid --halt '${bad}'`);
    });

    it('answers --help and --version before anything else', () => {
      expect(parseArguments(['-j', '2', '--help', '--bogus'], 2)).to.deep.equal({ kind: 'help' });
      expect(parseArguments(['-h'], 2)).to.deep.equal({ kind: 'help' });
      expect(parseArguments(['-kh'], 2)).to.deep.equal({ kind: 'help' });
      expect(parseArguments(['--version'], 2)).to.deep.equal({ kind: 'version' });
      expect(parseArguments(['-V'], 2)).to.deep.equal({ kind: 'version' });
    });

    const bad: [string[], string][] = [
      [[], 'no command given'],
      [['--', ':::', 'a'], "no command given before ':::'"],
      [['::::', 'f'], "no command given before '::::'"],
      [['-j', '0', 'x'], "invalid --jobs '0': expected a positive integer"],
      [['-j', '1.5', 'x'], "invalid --jobs '1.5': expected a positive integer"],
      [['--jobs'], "option '--jobs' needs a value"],
      [['-j'], "option '--jobs' needs a value"],
      [['--retries', '-1', 'x'], "invalid --retries '-1': expected a non-negative integer"],
      [['-n', '0', 'x'], "invalid --max-args '0': expected a positive integer"],
      [['--bogus', 'x'], "unknown option '--bogus'"],
      [['-x', 'x'], "unknown option '-x'"],
      [['-kx', 'x'], "unknown option '-x'"],
      [['--json=yes', 'x'], "option '--json' takes no value"],
      [['--timeout', '3x', 'x'], "invalid --timeout '3x': expected a positive duration such as 500ms, 30s, 2m or a number of seconds, or a percentage such as 200%"],
      [['--timeout', '0', 'x'], "invalid --timeout '0': expected a positive duration such as 500ms, 30s, 2m or a number of seconds, or a percentage such as 200%"],
      [['--timeout', '0%', 'x'], "invalid --timeout '0%': expected a positive duration such as 500ms, 30s, 2m or a number of seconds, or a percentage such as 200%"],
      [['--timeout', '5s%', 'x'], "invalid --timeout '5s%': expected a positive duration such as 500ms, 30s, 2m or a number of seconds, or a percentage such as 200%"],
      [['-d', '', 'x'], "invalid --delimiter '': expected at least one character"],
      [['--pipe', 'x'], "option '--pipe' is not supported: taskpool does not split stdin into blocks"],
      [['-X', 'x'], "option '-X' is not supported: taskpool has no context replace: use -n N"],
      [['--colsep', ',', 'x'], "option '--colsep' is not supported"],
      [['x', ':::', 'a', ':::+', 'b'], "':::+' (linked inputs) is not supported"],
      [['-n', '2', 'x', ':::', 'a', ':::', 'b'], '-n N takes one input source'],
      [['--resume', 'x'], '--resume needs --joblog FILE'],
      [['--resume-failed', 'x'], '--resume-failed needs --joblog FILE'],
      [['--json', '--tag', 'x'], '--json cannot be combined with --tag'],
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
  });

  describe('replacement strings', () => {
    const values = (inputs: string[], seq = 1, slot = 1): { inputs: string[]; seq: number; slot: number } => ({ inputs, seq, slot });
    const argv = (command: string[], inputs: string[], shell = false): string[] => new CommandTemplate(command, shell).argv(values(inputs, 7, 2));

    it('puts values in as they are: $ and backslashes are not special', () => {
      for (const input of ['a$$b', 'p$&q', "x$`y$'z", '$1\\n', '{}', '{.}']) {
        expect(argv(['echo', 'x{}y', '{}'], [input])).to.deep.equal(['echo', `x${input}y`, input]);
      }
    });

    it("transforms values as GNU parallel: {.} {/} {//} {/.}", () => {
      const line = ['{.}', '{/}', '{//}', '{/.}'];
      expect(argv(line, ['a/b.c/d.tar.gz'])).to.deep.equal(['a/b.c/d.tar', 'd.tar.gz', 'a/b.c', 'd.tar']);
      expect(argv(line, ['x.txt'])).to.deep.equal(['x', 'x.txt', '.', 'x']);
      expect(argv(line, ['/x'])).to.deep.equal(['/x', 'x', '/', 'x']);
      expect(argv(line, ['y/'])).to.deep.equal(['y/', '', '.', '']);
      expect(transform('.bashrc', '.')).to.equal('');
    });

    it('fills in {#}, {%}, {n} and {n.}, and appends the inputs when the command has no replacement string', () => {
      expect(argv(['echo', '{#}-{%}', '{2}', '{1.}', '{1/}', '{2//}', '{1/.}'], ['d/a.b', 'e/c'])).to.deep.equal(['echo', '7-2', 'e/c', 'd/a', 'a.b', 'e', 'a']);
      expect(argv(['echo', '{#}'], ['a', 'b'])).to.deep.equal(['echo', '7']);
      expect(argv(['echo', '#'], ['a', 'b'])).to.deep.equal(['echo', '#', 'a', 'b']);
      expect(argv(['echo', '{3}'], ['a', 'b'])).to.deep.equal(['echo', '']);
    });

    it('gives one word per input for a word with {} and several inputs, as GNU parallel', () => {
      expect(argv(['printf', '[%s]', '{}'], ['a', 'b', 'c'])).to.deep.equal(['printf', '[%s]', 'a', 'b', 'c']);
      expect(argv(['printf', '[%s]', 'x{}y'], ['a', 'b'])).to.deep.equal(['printf', '[%s]', 'xa', 'by']);
      expect(argv(['echo', '{}{}'], ['a', 'b'])).to.deep.equal(['echo', 'a ba b']);
    });

    it('leaves braces that are no replacement string as text', () => {
      expect(argv(['echo', '{x}', '{a,b}', '{ }', '{}'], ['v'])).to.deep.equal(['echo', '{x}', '{a,b}', '{ }', 'v']);
    });

    it("refuses GNU parallel's replacement strings that taskpool does not have", () => {
      for (const word of ['{..}', '{...}', '{/..}', '{+/}', '{+.}', '{1..}', '{= s/a/b/ =}', '{=1 $_ =}', '{#2}']) {
        expect(() => new CommandTemplate(['echo', `x${word}`], false), word).to.throw(UsageError, /unsupported replacement string/);
      }
      expect(() => new CommandTemplate(['echo', '{0}'], false)).to.throw(UsageError, "invalid replacement string '{0}': inputs are numbered from 1");
    });

    it('with --shell, makes one /bin/sh line with each value quoted for the shell', () => {
      expect(argv(['sleep {}; echo {}'], ['1'], true)).to.deep.equal(['/bin/sh', '-c', 'sleep 1; echo 1']);
      expect(argv(['echo', '{}'], ["it's; rm -rf x"], true)).to.deep.equal(['/bin/sh', '-c', `echo 'it'\\''s; rm -rf x'`]);
      expect(argv(['echo'], ['a b', 'c'], true)).to.deep.equal(['/bin/sh', '-c', "echo 'a b' c"]);
      expect(argv(['echo', 'x{}y'], ['a', 'b c'], true)).to.deep.equal(['/bin/sh', '-c', "echo xa 'b c'y"]);
      expect(shellQuote('')).to.equal("''");
      expect(new CommandTemplate(['echo', '{}'], false).display(values(['a b']))).to.equal("echo 'a b'");
    });
  });

  describe('inputs', () => {
    async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
      const items: T[] = [];
      for await (const item of iterable) items.push(item);
      return items;
    }
    const chunks = (...parts: (string | Buffer)[]): AsyncIterable<Buffer> => Readable.from(parts.map((part) => Buffer.from(part)));

    it('splits lines as bytes across chunks, drops a CR only before LF, and skips empty lines', async () => {
      expect(await collect(records(chunks('a\r\nb', ' c\n\n', 'x\ry\r', '\nlast'), '\n'))).to.deep.equal(['a', 'b c', 'x\ry', 'last']);
      expect(await collect(records(chunks('a\0b\nc\0', '\0'), '\0'))).to.deep.equal(['a', 'b\nc']);
      expect(await collect(records(chunks('a::b::', ':', ':c'), '::'))).to.deep.equal(['a', 'b', 'c']);
      expect(await collect(records(chunks(Buffer.from([0xc3]), Buffer.from([0xa9, 0x0a])), '\n'))).to.deep.equal(['é']);
    });

    it('keeps an input that is not UTF-8 as bytes, shown with \\x escapes', async () => {
      const [bad, good] = await collect(records(chunks(Buffer.from('caf\xe9.txt\nok\\\n', 'latin1')), '\n'));
      expect(bad).to.be.an.instanceOf(InvalidInput);
      expect((bad as InvalidInput).bytes).to.deep.equal(Buffer.from('caf\xe9.txt', 'latin1'));
      expect(String(bad)).to.equal('caf\\xe9.txt');
      expect(good).to.equal('ok\\');
    });

    it('combines sources as GNU parallel: the last varies fastest; -n takes N inputs at a time', async () => {
      const open = (): AsyncIterable<Buffer> => chunks('f1\nf2\n');
      const jobs = (sources: InputSource[], maxArgs = 1): Promise<unknown[]> => collect(jobInputs({ sources, delimiter: '\n', maxArgs }, open));
      const values = (...list: string[]): InputSource => ({ kind: 'values', values: list });
      expect(await jobs([values('a', 'b'), values('1', '2')])).to.deep.equal([['a', '1'], ['a', '2'], ['b', '1'], ['b', '2']]);
      expect(await jobs([values('a'), { kind: 'file', path: 'x' }, values('z')])).to.deep.equal([['a', 'f1', 'z'], ['a', 'f2', 'z']]);
      expect(await jobs([values('a', 'b'), values()])).to.deep.equal([]);
      expect(await jobs([values('a', 'b', 'c')], 2)).to.deep.equal([['a', 'b'], ['c']]);
      expect(await jobs([])).to.deep.equal([['f1'], ['f2']]);
    });

    it('reads stdin no faster than jobs are taken', async () => {
      let pulled = 0;
      async function* endless(): AsyncGenerator<Buffer> {
        for (;;) {
          pulled++;
          yield Buffer.from('1\n1\n');
        }
      }
      const jobs = jobInputs({ sources: [], delimiter: '\n', maxArgs: 1 }, () => endless());
      for (let i = 0; i < 5; i++) await jobs.next();
      expect(pulled).to.equal(3);
      await jobs.return(undefined);
    });
  });

  describe('output', () => {
    it('keeps a small output in memory and a large one in an unnamed temporary file, byte for byte', () => {
      const small = new Spool(dir.path, 8);
      small.write(Buffer.from([0, 1, 2]));
      expect(small.spilled).to.equal(false);
      expect(spooledInMemory()).to.equal(3);
      const bytes = randomBytes(200_000);
      const large = new Spool(dir.path, 8);
      for (let at = 0; at < bytes.length; at += 7_000) large.write(bytes.subarray(at, at + 7_000));
      expect(large.spilled).to.equal(true);
      expect(large.size).to.equal(200_000);
      expect(readdirSync(dir.path)).to.deep.equal([]); // the file has no name
      expect(Buffer.concat([...large.chunks()])).to.deep.equal(bytes);
      expect(Math.max(...[...large.chunks()].map((chunk) => chunk.length))).to.equal(64 << 10);
      expect(large.text(10)).to.deep.equal({ text: bytes.subarray(0, 10).toString('utf8'), truncated: true });
      expect(spooledInMemory()).to.equal(3);
      small.dispose();
      large.dispose();
      expect(spooledInMemory()).to.equal(0);
      expect(SPOOL_MEMORY).to.equal(1 << 20);
    });

    it('lets the oldest job\'s lines out as they come and holds later ones until their turn (--line-buffer --keep-order)', () => {
      const order = new LineOrder();
      const written: string[] = [];
      const out = new Writable();
      const write = (stream: NodeJS.WritableStream, chunk: Buffer): void => void written.push(`${stream === out ? 'out' : 'err'}:${String(chunk)}`);
      const err = new Writable();
      const [first, second, third] = [order.take(dir.path), order.take(dir.path), order.take(dir.path)];
      first.emit(out, Buffer.from('1a\n'), write);
      second.emit(out, Buffer.from('2a\n'), write);
      second.emit(err, Buffer.from('2e\n'), write);
      third.emit(out, Buffer.from('3a\n'), write);
      expect(written).to.deep.equal(['out:1a\n']);
      order.end(second, write); // ended before its turn: still held
      expect(written).to.deep.equal(['out:1a\n']);
      first.emit(out, Buffer.from('1b\n'), write);
      order.end(first, write); // the second's lines, then the third's held ones; the third is now live
      expect(written).to.deep.equal(['out:1a\n', 'out:1b\n', 'out:2a\n', 'err:2e\n', 'out:3a\n']);
      third.emit(out, Buffer.from('3b\n'), write);
      expect(written.at(-1)).to.equal('out:3b\n');
      order.end(third, write);
    });

    it('keeps --timeout N% at N% of the median run time of the jobs that succeeded, none before one has, and moves running jobs\' deadlines with it', () => {
      const clock = new FakeClock();
      clock.install();
      const realNow = performance.now;
      const base = realNow.call(performance);
      performance.now = () => base + clock.now;
      try {
        const limit = new MedianLimit(200);
        expect(limit.current()).to.equal(undefined);
        let expired = 0;
        armTimeout(limit, performance.now(), () => expired++);
        clock.advance(1_000_000);
        expect(expired).to.equal(0); // no limit before a job has succeeded
        limit.add(1_000);
        expect(limit.current()).to.equal(2_000);
        clock.advance(1);
        expect(expired).to.equal(1); // running for longer than the new limit already: stopped at once
        const cancel = armTimeout(limit, performance.now(), () => expired++);
        clock.advance(1_980);
        expect(expired).to.equal(1);
        limit.add(3_000);
        limit.add(2_000); // median 2,000 ms: 4,000 ms from the start
        expect(limit.current()).to.equal(4_000);
        clock.advance(1_980);
        expect(expired).to.equal(1);
        clock.advance(100);
        expect(expired).to.equal(2);
        limit.add(10);
        clock.advance(10_000);
        expect(expired).to.equal(2); // once
        cancel();
        // Plain milliseconds, and no limit at all.
        armTimeout(500, performance.now(), () => expired++);
        const none = armTimeout(undefined, performance.now(), () => expired++);
        clock.advance(600);
        expect(expired).to.equal(3);
        none();
        expect(clock.pending).to.equal(0);
      } finally {
        performance.now = realNow;
        clock.uninstall();
      }
    });

    it('tags every line across chunks, and cuts whole lines', () => {
      const tagger = new Tagger('a\t');
      expect(Buffer.concat([tagger.tag(Buffer.from('x\ny')), tagger.tag(Buffer.from('z\n')), tagger.tag(Buffer.from('\nw'))]).toString()).to.equal('a\tx\na\tyz\na\t\na\tw');
      const cutter = new LineCutter();
      expect(cutter.push(Buffer.from('ab'))).to.equal(undefined);
      expect(cutter.push(Buffer.from('c\nd\ne'))!.toString()).to.equal('abc\nd\n');
      expect(cutter.end()!.toString()).to.equal('e');
      expect(cutter.end()).to.equal(undefined);
    });

    it('waits for a stream that is behind, and says so while it is', async () => {
      const held: (() => void)[] = [];
      const stream = new Writable({
        highWaterMark: 4,
        write(_chunk, _encoding, callback) {
          held.push(callback);
        },
      });
      const output = new Output();
      const changes: boolean[] = [];
      output.onChange((behind) => changes.push(behind));
      expect(output.write(stream, 'ab')).to.equal(undefined);
      const waiting = output.write(stream, 'cdef');
      expect(waiting).to.be.an.instanceOf(Promise);
      expect(output.behind).to.equal(true);
      expect(output.ready(stream)).to.be.an.instanceOf(Promise);
      let done = false;
      void waiting!.then(() => (done = true));
      await flush();
      expect(done).to.equal(false);
      while (held.length > 0) held.shift()!();
      await flush();
      expect(done).to.equal(true);
      expect(output.behind).to.equal(false);
      expect(output.ready(stream)).to.equal(undefined);
      expect(changes).to.deep.equal([true, false]);
      output.broken(stream);
      expect(output.write(stream, 'lost')).to.equal(undefined);
    });
  });

  describe('temporary directory', () => {
    it('removes only what taskpool processes that no longer run left: their directories and unnamed spool files', () => {
      const base = dir.path;
      const dead = (pid: number): boolean => pid !== 222;
      mkdirSync(join(base, 'taskpool-111-abcDEF'));
      writeFileSync(join(base, 'taskpool-111-abcDEF', '1.out'), 'x');
      mkdirSync(join(base, 'taskpool-222-xyzXYZ')); // its process runs
      writeFileSync(join(base, 'taskpool-333-12-k3j4h5'), 'spool'); // a spool file whose name was not yet removed
      mkdirSync(join(base, 'taskpool-process-abcdef')); // not a name of ours
      mkdirSync(join(base, 'taskpool-444-abcdefg')); // not a name of ours
      writeFileSync(join(base, 'taskpool-555-abcdef'), 'a file where a directory would be');
      mkdirSync(join(base, 'elsewhere'));
      symlinkSync(join(base, 'elsewhere'), join(base, 'taskpool-666-abcdef'));
      mkdirSync(join(base, `taskpool-${process.pid}-abcdef`)); // this process's own
      expect(removeStale(base, (pid) => !dead(pid)).sort()).to.deep.equal(['taskpool-111-abcDEF', 'taskpool-333-12-k3j4h5']);
      expect(readdirSync(base).sort()).to.deep.equal(
        ['elsewhere', `taskpool-${process.pid}-abcdef`, 'taskpool-222-xyzXYZ', 'taskpool-444-abcdefg', 'taskpool-555-abcdef', 'taskpool-666-abcdef', 'taskpool-process-abcdef'].sort(),
      );
      expect(removeStale(join(base, 'missing'))).to.deep.equal([]);
      // A process that runs, even of another user, counts as running.
      expect(processRuns(process.pid)).to.equal(true);
      expect(processRuns(1)).to.equal(true);
    });

    /** The helper shell with 3 slots in `dir`, as taskpool starts it: `status` is what it said on fd 3. */
    function startHelper(): { shell: ReturnType<typeof spawn>; status: () => string; groupGone: () => boolean; kill: () => void } {
      const shell = spawn('/bin/sh', ['-c', HELPER, 'sh', dir.path, '3'], { stdio: ['pipe', 'ignore', 'inherit', 'pipe'], detached: true });
      let status = '';
      shell.stdio[3]!.on('data', (chunk: Buffer) => (status += String(chunk)));
      const group = shell.pid!;
      const groupGone = (): boolean => {
        try {
          process.kill(-group, 0);
          return false;
        } catch {
          return true;
        }
      };
      return { shell, status: () => status, groupGone, kill: () => groupGone() || process.kill(-group, 'SIGKILL') };
    }

    it("ends every slot's shell when its stdin ends before the slots have opened their pipes, its fd 3 still read", async () => {
      // Its end comes first (as when taskpool is killed and its end of stdin closes before that of
      // fd 3): the first stage's `q` to a pipe no slot has opened yet is lost, and the slot that
      // opens it later, its `open` read, waited for ever before the `quit` file.
      const { shell, status, groupGone, kill } = startHelper();
      const closed = new Promise((resolve) => shell.once('close', resolve));
      shell.stdin!.destroy();
      try {
        await waitFor(groupGone, 'the shells to end');
        await closed;
        expect(status().match(/open/g), 'every slot opened its pipe and said so').to.have.length(3);
      } finally {
        kill();
      }
    }).timeout(10_000);

    it("ends the slots' shells when taskpool is gone before it has opened their pipes (killed at start)", async () => {
      const { shell, status, groupGone, kill } = startHelper();
      try {
        await waitFor(() => status().includes('ready'), "the shells' pipes");
        // taskpool would open the pipes now; gone instead, its ends of the shell's stdin and fd 3 close.
        shell.stdin!.destroy();
        shell.stdio[3]!.destroy();
        await waitFor(groupGone, 'the shells to end', 3_000);
      } finally {
        kill();
      }
      // Its own waits say how long it may take (shells start slowly on a loaded machine), not mocha's 2 s.
    }).timeout(10_000);

    it('makes a directory named after this process, and removes it', () => {
      const made = claimDirectory(dir.path);
      expect(made).to.match(new RegExp(`/taskpool-${process.pid}-\\w{6}$`));
      expect(existsSync(made)).to.equal(true);
      releaseDirectory(made);
      expect(existsSync(made)).to.equal(false);
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
      expect(formatBar(tally, 3_000)).to.equal('taskpool: [######..............] 30% 3/10, 1 failed, ETA 0:07');
      expect(formatBar({ ...tally, total: undefined }, 3_000, 4)).to.equal('taskpool: [....] ?% 3/?, 1 failed, ETA ?');
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

    it('prints what is wrong for bad usage, exit 255 as GNU parallel', async () => {
      const { io, stdout, stderr } = fakeIO();
      expect(await main(['-j', '0', 'echo'], io)).to.equal(255);
      expect(stderr.text).to.equal("taskpool: invalid --jobs '0': expected a positive integer\n(taskpool --help lists the options)\n");
      expect(stdout.text).to.equal('');
      const positional = fakeIO();
      expect(await main(['echo', '{2}', ':::', 'a'], positional.io)).to.equal(255);
      expect(positional.stderr.text).to.match(/^taskpool: replacement string '\{2\}' names input 2, but each job has one input\n/);
      const unknown = fakeIO();
      expect(await main(['cp', '{}', '{..}.bak', ':::', 'a'], unknown.io)).to.equal(255);
      expect(unknown.stderr.text).to.match(/^taskpool: unsupported replacement string '\{\.\.\}'/);
    });

    it('lists every option in --help, with what GNU parallel does differently', async () => {
      const help = fakeIO();
      await main(['--help'], help.io);
      for (const option of ['-j,', '--timeout', '--retries', '--halt', '--halt-on-error', '--shell', '--dry-run', '--joblog', '--resume', '--resume-failed', '-k,', '--tag', '--line-buffer', '--json', '--bar', '--progress', '--eta', '--quiet', '-0,', '-d,', '-n,', '-a FILE', '::::', '{/.}', '{#}', '{%}', '{n//}', 'GNU parallel always does', 'Not supported']) {
        expect(help.stdout.text, option).to.include(option);
      }
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
      expect(ok).to.deep.include({ seq: 1, input: '0', command: "sh -c 'echo out 0; echo err >&2; exit 0'", exitCode: 0, signal: null, timedOut: false, attempts: 1, stdout: 'out 0\n', stderr: 'err\n', error: null });
      expect(ok!.durationMs).to.be.a('number');
      expect(failed).to.deep.include({ seq: 2, input: '3', exitCode: 3, stdout: 'out 3\n', stderr: 'err\n' });
      expect(stderr.text).to.match(/^taskpool: 2 jobs in .*: 1 succeeded, 1 failed\n$/);
    });

    it('reports failures on stderr after the job\'s own output, exit status the number of failed jobs', async () => {
      const { io, stdout, stderr } = fakeIO();
      const code = await main(['-k', '--', 'sh', '-c', 'echo o{}; echo e{} >&2; exit {}', ':::', '0', '2', '3'], io);
      expect(code).to.equal(2);
      expect(stdout.text).to.equal('o0\no2\no3\n');
      expect(stderr.text).to.match(/^e0\ne2\ntaskpool: job 2 failed with exit code 2: sh -c 'echo o2; echo e2 >&2; exit 2'\ne3\ntaskpool: job 3 failed/);
    });

    it('exits 101 when more than 100 jobs failed', async () => {
      const { io, stderr } = fakeIO();
      expect(await main(['-j', '8', 'false', ':::', ...Array.from({ length: 101 }, (_, i) => String(i))], io)).to.equal(101);
      expect(stderr.text).to.match(/: 0 succeeded, 101 failed\n$/);
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

    it('stops a job that runs longer than --timeout N% of the median run time of the jobs that succeeded, as GNU parallel', async () => {
      expect(parseArguments(['--timeout', '250.5%', 'x'], 2)).to.have.nested.property('options.timeout').that.deep.equals({ percent: 250.5 });
      for (const directSpawn of [false, true]) {
        // Job 1 succeeds at once; job 2 never ends by itself.
        const { io, stdout, stderr } = fakeIO();
        const code = await main(['-j', '1', '-k', '--json', '--quiet', '--timeout', '200%', 'sh', '-c', 'case {} in 1) exit 0 ;; 2) exec sleep 100 ;; esac', ':::', '1', '2'], { ...io, directSpawn });
        expect(code, `directSpawn: ${directSpawn}`).to.equal(1);
        const [first, second] = jsonLines(stdout.text);
        expect(first).to.deep.include({ exitCode: 0, timedOut: false });
        expect(second).to.deep.include({ exitCode: null, signal: 'SIGTERM', timedOut: true });
        expect(stderr.text).to.equal('');
        const text = fakeIO();
        await main(['-j', '1', '--timeout', '200%', 'sh', '-c', 'case {} in 1) exit 0 ;; 2) exec sleep 100 ;; esac', ':::', '1', '2'], { ...text.io, directSpawn });
        expect(text.stderr.text).to.match(/^taskpool: job 2 timed out after \d+ ms, over --timeout 200% of the median run time of the jobs that succeeded \(stopped with SIGTERM\): sh -c /);
      }
    });

    it('runs a failed job up to --retries times in all, as GNU parallel, and prints the last attempt only', async () => {
      const { io, stdout } = fakeIO();
      // Fails on the first attempt of each input, succeeds on the second.
      const flaky = `if [ -e ${dir.path}/{} ]; then echo ok {}; else touch ${dir.path}/{}; echo first; exit 1; fi`;
      expect(await main(['--json', '-k', '--retries', '2', '--', 'sh', '-c', flaky, ':::', 'a', 'b'], io)).to.equal(0);
      expect(jsonLines(stdout.text).map((line) => [line.input, line.attempts, line.stdout])).to.deep.equal([
        ['a', 2, 'ok a\n'],
        ['b', 2, 'ok b\n'],
      ]);
      const failing = fakeIO();
      expect(await main(['--retries', '3', '--', 'sh', '-c', `echo x >> ${dir.file('count')}; exit 1`, ':::', 'z'], failing.io)).to.equal(1);
      expect(readFileSync(dir.file('count'), 'utf8')).to.equal('x\nx\nx\n');
      expect(failing.stderr.text).to.include('taskpool: job 1 failed with exit code 1 after 3 attempts');
    });

    it('starts nothing more after a failure with --halt-on-error, and lets running jobs finish', async () => {
      const { io, stdout, stderr } = fakeIO();
      const script = `[ {} = fail ] && exit 1; [ {} = slow ] && sleep 0.1; echo {}`;
      const code = await main(['--halt-on-error', '-j', '2', '--', 'sh', '-c', script, ':::', 'fail', 'slow', 'later', 'last'], io);
      expect(code).to.equal(1);
      expect(stdout.text).to.equal('slow\n');
      expect(stderr.text).to.match(/taskpool: 4 jobs in .*: 1 succeeded, 1 failed, 2 not started \(halted: 1 job failed\)\n$/);
    });

    it('retries nothing more once halted', async () => {
      const { io, stderr } = fakeIO();
      // Job 2 fails only once job 1 has failed (twice) and halted the run.
      stderr.onWrite = (text) => {
        if (text.includes('job 1 failed')) writeFileSync(dir.file('go'), '');
      };
      const script = `[ {} = b ] && while [ ! -e ${dir.file('go')} ]; do sleep 0.01; done; exit 1`;
      const code = await main(['--halt-on-error', '--retries', '2', '-j', '2', 'sh', '-c', script, ':::', 'a', 'b', 'c'], io);
      expect(code).to.equal(1);
      expect(stderr.text).to.match(/^taskpool: job 1 failed with exit code 1 after 2 attempts: .*\ntaskpool: job 2 failed with exit code 1: /);
      expect(stderr.text).to.match(/: 0 succeeded, 2 failed, 1 not started \(halted: 1 job failed\)\n$/);
    });

    it('reports a command that cannot start', async () => {
      const { io, stdout, stderr } = fakeIO();
      expect(await main(['taskpool-no-such-command', ':::', 'a'], io)).to.equal(1);
      const shell = fakeIO();
      expect(await main(['sleep {}; echo {}', ':::', '1'], shell.io)).to.equal(1);
      expect(shell.stderr.text).to.match(/^taskpool: job 1 could not start \(spawn sleep 1; echo 1 ENOENT\); 'sleep \{\}; echo \{\}' looks like a shell command line: to run it through \/bin\/sh, as GNU parallel does, add --shell: /);
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
      expect(await run).to.equal(255);
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
      expect(code).to.equal(255);
      expect(stdout.text).to.equal('a\n');
      // Job 2 started when job 1 finished, before job 1's output was written.
      expect(stderr.text).to.match(/: 1 succeeded, 0 failed, 1 interrupted, 1 not started \(cannot write output: EPIPE\)\n$/);
    });
  });

  describe('defects that lost data, and GNU parallel syntax (in process)', () => {
    it('runs the program, never a builtin of the shell that starts jobs', async () => {
      for (const directSpawn of [false, true]) {
        const { io, stdout } = fakeIO({ directSpawn });
        expect(await main(['-k', '-j', '1', 'echo', ':::', 'a\\nb', '-e', '-n'], io)).to.equal(0);
        expect(stdout.text, `directSpawn: ${directSpawn}`).to.equal('a\\nb\n\n');
      }
    });

    it('passes inputs with $ through unchanged', async () => {
      const { io, stdout } = fakeIO();
      expect(await main(['-k', 'echo', 'x{}y', ':::', 'a$$b', 'p$&q', "r$`s$'t"], io)).to.equal(0);
      expect(stdout.text).to.equal("xa$$by\nxp$&qy\nxr$`s$'ty\n");
    });

    it('passes binary output through byte for byte, in memory and past the spill size, leaving no file behind', async () => {
      await expectBinaryPassedThrough(false);
    });

    it('starts no job while stdout is behind its reader', async () => {
      const { stdout, held, received } = heldStdout();
      const fake = fakeIO();
      const io = { ...fake.io, stdout };
      const started = (): number => readdirSync(dir.path).filter((name) => name.startsWith('started-')).length;
      const run = main(['-j', '1', '--progress', 'sh', '-c', `touch ${dir.path}/started-{}; echo out-{}`, ':::', '1', '2', '3', '4', '5', '6'], io);
      // Job 1's output is held: job 2, queued with it before any output, runs; no other starts.
      await waitFor(() => received() > 0 && fake.stderr.text.includes('2/6 done, 0 running'), 'jobs 1 and 2 to finish');
      await flush();
      expect(started()).to.equal(2);
      while (received() < 36) {
        await waitFor(() => held.length > 0, 'a write');
        held.shift()!();
      }
      while (held.length > 0) held.shift()!();
      expect(await run).to.equal(0);
      expect(started()).to.equal(6);
    });

    it('runs {.} and the other replacement strings instead of leaving them as text', async () => {
      writeFileSync(dir.file('a.txt'), 'A');
      writeFileSync(dir.file('b.txt'), 'B');
      const { io } = fakeIO();
      expect(await main(['cp', '{}', '{.}.bak', ':::', dir.file('a.txt'), dir.file('b.txt')], io)).to.equal(0);
      expect(readFileSync(dir.file('a.bak'), 'utf8')).to.equal('A');
      expect(readFileSync(dir.file('b.bak'), 'utf8')).to.equal('B');
      expect(readdirSync(dir.path)).not.to.include('{.}.bak');
      const more = fakeIO();
      expect(await main(['-k', '-j', '1', 'echo', '{#}', '{%}', '{/}', '{//}', '{/.}', ':::', 'd/x.tar.gz', 'y'], more.io)).to.equal(0);
      expect(more.stdout.text).to.equal('1 1 x.tar.gz d x.tar\n2 1 y . y\n');
    });

    it('runs every combination of several ::: groups, and reads :::: files and -a files, never stdin', async () => {
      writeFileSync(dir.file('list'), 'f1\nf2\n');
      const { io, stdout } = fakeIO({ stdin: 'from-stdin\n' });
      expect(await main(['-k', 'echo', ':::', 'a', 'b', ':::', '1', '2'], io)).to.equal(0);
      expect(stdout.text).to.equal('a 1\na 2\nb 1\nb 2\n');
      const files = fakeIO({ stdin: 'from-stdin\n' });
      expect(await main(['-k', 'echo', '{2}-{1}', '::::', dir.file('list'), ':::', 'x'], files.io)).to.equal(0);
      expect(files.stdout.text).to.equal('x-f1\nx-f2\n');
      const arg = fakeIO({ stdin: 'from-stdin\n' });
      expect(await main(['-k', '-a', dir.file('list'), 'echo'], arg.io)).to.equal(0);
      expect(arg.stdout.text).to.equal('f1\nf2\n');
      const dash = fakeIO({ stdin: 'from-stdin\n' });
      expect(await main(['-k', 'echo', '::::', '-', ':::', '!'], dash.io)).to.equal(0);
      expect(dash.stdout.text).to.equal('from-stdin !\n');
      const missing = fakeIO();
      expect(await main(['echo', '::::', dir.file('nope')], missing.io)).to.equal(255);
      expect(missing.stderr.text).to.equal(`taskpool: cannot read input file '${dir.file('nope')}'\n`);
    });

    it('reads NUL- and otherwise delimited inputs, and -n inputs per job', async () => {
      const nul = fakeIO({ stdin: 'a b\0c\nd\0' });
      expect(await main(['-k', '-0', 'printf', '[%s]'], nul.io)).to.equal(0);
      expect(nul.stdout.text).to.equal('[a b][c\nd]');
      const comma = fakeIO({ stdin: 'a,b,c' });
      expect(await main(['-k', '-d', ',', '-n', '2', 'printf', '[%s]'], comma.io)).to.equal(0);
      expect(comma.stdout.text).to.equal('[a][b][c]');
      const positional = fakeIO();
      expect(await main(['-k', '-n2', 'echo', '{2}+{1}', ':::', 'a', 'b', 'c', 'd'], positional.io)).to.equal(0);
      expect(positional.stdout.text).to.equal('b+a\nd+c\n');
    });

    it('refuses to run an input that is not UTF-8, says why, and runs the others; keeps a lone CR', async () => {
      const { io, stdout, stderr } = fakeIO({ stdin: Buffer.from('caf\xe9.txt\nok\nx\ry\n', 'latin1') });
      expect(await main(['-k', '-j', '1', 'printf', '[%s]'], io)).to.equal(1);
      expect(stdout.text).to.equal('[ok][x\ry]');
      expect(stderr.text).to.include("taskpool: job 1 was not run: input 'caf\\xe9.txt' is not valid UTF-8, and Node.js cannot pass such bytes as an argument");
      expect(stderr.text).to.match(/: 2 succeeded, 1 failed\n$/);
    });

    it('refuses to run a ::: input that was not UTF-8 on the command line (Node.js decoded it with U+FFFD)', async () => {
      writeFileSync(dir.file('cmdline'), Buffer.concat([Buffer.from('node\0cli.js\0echo\0:::\0caf'), Buffer.from([0xe9]), Buffer.from('\0ok\uFFFD\0')]));
      const argv = ['node', 'cli.js', 'echo', ':::', 'caf\uFFFD', 'ok\uFFFD'];
      const invalid = invalidArguments(argv, dir.file('cmdline'));
      expect([...invalid.keys()]).to.deep.equal(['caf\uFFFD']);
      expect(invalidArguments(['node', 'x'], dir.file('cmdline')).size).to.equal(0);
      expect(invalidArguments(argv, dir.file('missing')).size).to.equal(0);
      const fake = fakeIO();
      const io = { ...fake.io, invalidArgs: invalid };
      expect(await main(['-k', 'echo', ':::', 'caf\uFFFD', 'ok\uFFFD'], io)).to.equal(1);
      expect(fake.stdout.text).to.equal('ok\uFFFD\n');
      expect(fake.stderr.text).to.include("taskpool: job 1 was not run: input 'caf\\xe9' is not valid UTF-8");
    });

    it('runs a shell command line with --shell, each value quoted', async () => {
      const { io, stdout } = fakeIO();
      expect(await main(['-k', '--shell', 'echo {} | tr a-z A-Z; echo "$0"', ':::', 'a b', "it's; echo no"], io)).to.equal(0);
      expect(stdout.text).to.equal("A B\n/bin/sh\nIT'S; ECHO NO\n/bin/sh\n");
    });

    it('halts as --halt says: now kills running jobs, soon lets them finish; exit status as GNU parallel', async () => {
      const now = fakeIO();
      const script = `[ {} = slow ] && { echo $$ > ${dir.file('slow')}; exec sleep 100; }; while [ ! -s ${dir.file('slow')} ]; do sleep 0.01; done; exit {}`;
      const run = main(['-j', '2', '--halt', 'now,fail=1', 'sh', '-c', script, ':::', 'slow', '3', '0'], now.io);
      expect(await run).to.equal(3);
      expect(now.stderr.text).to.match(/: 0 succeeded, 1 failed, 1 interrupted, 1 not started \(halted: 1 job failed\)\n$/);
      await waitGone([readPid(dir.file('slow'))]);
      const soon = fakeIO();
      expect(await main(['-j', '1', '--halt', 'soon,fail=2', 'sh', '-c', 'exit {}', ':::', '0', '3', '4', '5'], soon.io)).to.equal(2);
      expect(soon.stderr.text).to.match(/: 1 succeeded, 2 failed, 1 not started \(halted: 2 jobs failed\)\n$/);
      const success = fakeIO();
      expect(await main(['-j', '1', '--halt', 'now,success=1', 'sh', '-c', 'exit {}', ':::', '3', '0', '4'], success.io)).to.equal(0);
      expect(success.stderr.text).to.match(/: 1 succeeded, 1 failed, 1 not started \(halted: 1 job succeeded\)\n$/);
      const percent = fakeIO();
      expect(await main(['-j', '1', '--halt', 'now,fail=50%', 'sh', '-c', 'exit {}', ':::', '0', '3', '4', '5'], percent.io)).to.equal(50);
      const done = fakeIO();
      expect(await main(['-j', '1', '--halt', 'soon,done=2', 'sh', '-c', 'exit {}', ':::', '0', '3', '4'], done.io)).to.equal(1);
    });

    it('prints the command lines with --dry-run and runs nothing', async () => {
      const { io, stdout, stderr } = fakeIO();
      expect(await main(['-k', '--dry-run', 'touch', dir.file('{}'), ':::', 'a b', "c'd"], io)).to.equal(0);
      expect(stdout.text).to.equal(`touch '${dir.file('a b')}'\ntouch '${dir.file("c'\\''d")}'\n`);
      expect(stderr.text).to.equal('');
      expect(readdirSync(dir.path)).to.deep.equal([]);
      const shell = fakeIO();
      await main(['--dry-run', '--shell', 'echo {}', ':::', 'a b'], shell.io);
      expect(shell.stdout.text).to.equal("echo 'a b'\n");
    });

    it("writes GNU parallel's job log, and --resume / --resume-failed skip what it has", async () => {
      const log = dir.file('log');
      const first = fakeIO();
      expect(await main(['-k', '-j', '1', '--joblog', log, 'sh', '-c', 'printf 12345; exit {}', ':::', '0', '3', '0'], first.io)).to.equal(1);
      const lines = readFileSync(log, 'utf8').split('\n');
      expect(lines[0]).to.equal('Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand');
      expect(lines[2]).to.match(/^2\t:\t\d{10}\.\d{3}\t {4,}\d+\.\d{3}\t0\t5\t3\t0\tsh -c 'printf 12345; exit 3'$/);
      expect(lines[2]!.split('\t')[3]).to.have.length(10);
      expect(lines.slice(1, 4).map((line) => line.split('\t')[6])).to.deep.equal(['0', '3', '0']);
      // --resume-failed runs job 2 again (it passes now) and job 4, which is new.
      const again = fakeIO();
      expect(await main(['-k', '--joblog', log, '--resume-failed', 'sh', '-c', 'echo ran {#}', ':::', '0', '3', '0', '0'], again.io)).to.equal(0);
      expect(again.stdout.text).to.equal('ran 2\nran 4\n');
      const resume = fakeIO();
      expect(await main(['-k', '--joblog', log, '--resume', 'sh', '-c', 'echo ran {#}', ':::', '0', '3', '0', '0', '0'], resume.io)).to.equal(0);
      expect(resume.stdout.text).to.equal('ran 5\n');
      expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).to.have.length(1 + 3 + 2 + 1);
      const timedOut = fakeIO();
      await main(['--joblog', dir.file('log2'), '--timeout', '50ms', 'sleep', ':::', '100'], timedOut.io);
      expect(readFileSync(dir.file('log2'), 'utf8').split('\n')[1]!.split('\t').slice(6, 8)).to.deep.equal(['-1', '15']);
    });

    it('reports a job killed by a signal it was not sent as killed by that signal, as GNU parallel, its stderr unchanged', async () => {
      for (const directSpawn of [false, true]) {
        const { io, stdout, stderr } = fakeIO();
        const log = dir.file(`signal-${directSpawn}`);
        const code = await main(['--joblog', log, 'sh', '-c', 'echo out; echo err >&2; kill -USR1 $$', ':::', '1'], { ...io, directSpawn });
        expect(code, `directSpawn: ${directSpawn}`).to.equal(1);
        expect(stdout.text).to.equal('out\n');
        // The starting shell's own "User defined signal 1" is not the job's stderr.
        expect(stderr.text.split('taskpool: job 1')[0]).to.equal('err\n');
        expect(stderr.text).to.include("taskpool: job 1 was killed by signal SIGUSR1: sh -c 'echo out; echo err >&2; kill -USR1 $$' 1\n");
        // Exitval 0 and Signal 10, as GNU parallel's job log has it.
        expect(readFileSync(log, 'utf8').split('\n')[1]!.split('\t').slice(6, 8)).to.deep.equal(['0', String(constants.signals.SIGUSR1)]);
        const halted = fakeIO();
        expect(await main(['--halt', 'now,fail=1', 'sh', '-c', 'kill -USR1 $$', ':::', '1'], { ...halted.io, directSpawn })).to.equal(128 + constants.signals.SIGUSR1);
        // An exit status above 128 is still an exit status.
        const exited = fakeIO();
        expect(await main(['--json', 'sh', '-c', 'exit 138', ':::', '1'], { ...exited.io, directSpawn })).to.equal(1);
        expect(jsonLines(exited.stdout.text)[0]).to.deep.include({ exitCode: 138, signal: null });
      }
    });

    it('tags each output line with --tag, grouped and with --line-buffer', async () => {
      const { io, stdout } = fakeIO();
      expect(await main(['-k', '--tag', 'printf', 'x\\ny', ':::', 'a', 'b'], io)).to.equal(0);
      expect(stdout.text).to.equal('a\tx\na\tyb\tx\nb\ty');
      const lines = fakeIO();
      expect(await main(['--tag', '--line-buffer', 'printf', 'x\\ny\\n', ':::', 'a'], lines.io)).to.equal(0);
      expect(lines.stdout.text).to.equal('a\tx\na\ty\n');
    });

    it('prints whole lines as they come with --line-buffer, never a cut line', async () => {
      const { io, stdout } = fakeIO();
      stdout.onWrite = (text) => {
        if (text.includes('first-1')) writeFileSync(dir.file('go'), '');
      };
      const wait = `while [ ! -e ${dir.file('go')} ]; do sleep 0.01; done`;
      const script = `printf 'first-{}\\npart'; ${wait}; printf 'ial-{}\\nlast-{}'`;
      expect(await main(['--line-buffer', 'sh', '-c', script, ':::', '1'], io)).to.equal(0);
      expect(stdout.chunks.map(String)).to.deep.equal(['first-1\n', 'partial-1\n', 'last-1']);
    });

    it('with --line-buffer and --keep-order, holds a job\'s lines until every earlier job has ended, as GNU parallel', async () => {
      // Job 3 starts (-j 2) only once job 2 has ended: it lets job 1 end. Job 2's lines wait for job 1's end.
      const gate = dir.file('gate');
      const { io, stdout } = fakeIO();
      const script = `case {} in 1) echo 1-start; while [ ! -e ${gate} ]; do sleep 0.01; done; echo 1-end ;; 2) echo 2-start; echo 2-end ;; 3) : > ${gate}; echo 3 ;; esac`;
      expect(await main(['-j', '2', '-k', '--line-buffer', 'sh', '-c', script, ':::', '1', '2', '3'], io)).to.equal(0);
      expect(stdout.text).to.equal('1-start\n1-end\n2-start\n2-end\n3\n');
      expect(stdout.chunks[0]!.toString()).to.equal('1-start\n'); // job 1's first line went out before it ended
    });

    it('prints no summary with --quiet, and the progress display when asked for, terminal or not', async () => {
      const quiet = fakeIO();
      expect(await main(['--quiet', 'true', ':::', 'a'], quiet.io)).to.equal(0);
      expect(quiet.stderr.text).to.equal('');
      const bar = fakeIO();
      await main(['--bar', '--quiet', 'true', ':::', 'a'], bar.io);
      expect(bar.stderr.text).to.include('\r\x1b[2Ktaskpool: [');
      const eta = fakeIO();
      await main(['--eta', 'true', ':::', 'a'], eta.io);
      expect(eta.stderr.text).to.include('\r\x1b[2Ktaskpool: 0/1 done');
      const tty = fakeIO({ tty: true });
      await main(['--quiet', 'true', ':::', 'a'], tty.io);
      expect(tty.stderr.text).to.equal('');
    });
  });

  describe('jobs started with Node.js spawn (--line-buffer, or no /bin/sh)', () => {
    it('passes binary output through byte for byte, in memory and past the spill size, leaving no file behind', async () => {
      await expectBinaryPassedThrough(true);
    });

    it('stops reading the children while stdout is behind, and reads on once it has caught up', async () => {
      const { stdout, held, received } = heldStdout();
      const fake = fakeIO({ directSpawn: true });
      const io = { ...fake.io, stdout };
      // --line-buffer writes as the job goes: a held write stops the job's output being read.
      const run = main(['--line-buffer', 'sh', '-c', `printf 'a\\n'; head -c 1000000 /dev/zero | tr '\\0' 'x'; echo; echo done > ${dir.file('done')}`, ':::', '1'], io);
      await waitFor(() => held.length > 0, 'the first write');
      while (held.length > 0 || !existsSync(dir.file('done'))) {
        await waitFor(() => held.length > 0 || existsSync(dir.file('done')), 'a write');
        held.shift()?.();
      }
      expect(await run).to.equal(0);
      expect(received()).to.equal(2 + 1_000_001);
    });

    it('stops a job after --timeout, and its whole process group on SIGINT', async () => {
      const timed = fakeIO({ directSpawn: true });
      expect(await main(['--json', '--timeout', '100ms', 'sleep', ':::', '100'], timed.io)).to.equal(1);
      expect(jsonLines(timed.stdout.text)[0]).to.deep.include({ exitCode: null, signal: 'SIGTERM', timedOut: true });
      const { io, raise, stderr } = fakeIO({ directSpawn: true });
      const script = `sleep 100 & echo $! > ${dir.path}/sleep-{}; wait`;
      const run = main(['-j', '2', 'sh', '-c', script, ':::', '1', '2'], io);
      await waitForFile(join(dir.path, 'sleep-1'));
      await waitForFile(join(dir.path, 'sleep-2'));
      raise('SIGINT');
      expect(await run).to.equal(130);
      expect(stderr.text).to.match(/2 interrupted \(interrupted by SIGINT\)\n$/);
      await waitGone(['sleep-1', 'sleep-2'].map((name) => readPid(join(dir.path, name))));
    });

    it('reports a command that cannot start, and an argument with a NUL byte', async () => {
      const { io, stderr } = fakeIO({ directSpawn: true, stdin: 'a\0b\n' });
      expect(await main(['-k', 'printf', '%s', '{}', '::::', '-', ':::', 'x'], io)).to.equal(1);
      expect(stderr.text).to.match(/^taskpool: job 1 could not start \(.*null bytes.*\)/);
      const launched = fakeIO({ stdin: 'a\0b\n' });
      expect(await main(['-k', 'printf', '%s', '{}', '::::', '-', ':::', 'x'], launched.io)).to.equal(1);
      expect(launched.stderr.text).to.match(/^taskpool: job 1 could not start \(an argument holds a NUL byte, which no program can be given\)/);
      const missing = fakeIO({ directSpawn: true });
      expect(await main(['taskpool-no-such-command', ':::', 'a'], missing.io)).to.equal(1);
      expect(missing.stderr.text).to.match(/^taskpool: job 1 could not start \(spawn taskpool-no-such-command ENOENT\)/);
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
      expect(usage.code).to.equal(255);
      expect(usage.stderr.split('\n')[0]).to.equal("taskpool: unknown option '--bogus'");
    });

    it('removes the temporary directory a taskpool killed with SIGKILL left, at the next start, once that process is gone', async () => {
      const base = join(dir.path, 'tmp');
      mkdirSync(base);
      const gate = join(dir.path, 'gate');
      const script = `echo $$ > ${dir.path}/pid; while [ ! -e ${gate} ]; do sleep 0.01; done`;
      let left: string[] = [];
      let run: Awaited<ReturnType<typeof runCli>>;
      try {
        run = await runCli(BUILD_CLI, ['sh', '-c', script, ':::', '1'], {
          env: { ...process.env, TMPDIR: base },
          onSpawn: (pid) => void waitForFile(join(dir.path, 'pid')).then(() => {
            left = readdirSync(base);
            process.kill(pid, 'SIGKILL');
          }),
        });
      } finally {
        writeFileSync(gate, ''); // the job, and so its shells, end
      }
      expect(run.signal).to.equal('SIGKILL');
      await waitGone([readPid(join(dir.path, 'pid'))]);
      expect(left).to.have.length(1);
      expect(left[0]).to.match(/^taskpool-\d+-\w{6}$/);
      expect(readdirSync(base)).to.deep.equal(left); // nothing removed it
      const { io, stdout } = fakeIO();
      expect(await main(['echo', ':::', 'next'], { ...io, tmpdir: base })).to.equal(0);
      expect(stdout.text).to.equal('next\n');
      expect(readdirSync(base)).to.deep.equal([]);
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
