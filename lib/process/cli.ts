#!/usr/bin/env node
/**
 * The `taskpool` command: `taskpool [options] -- command [args...]`, inputs on stdin or after
 * `:::`. See `taskpool --help`.
 *
 * @module
 */
import process from 'node:process';
import { main } from './cli-main.js';

const argv = process.argv.slice(2);
// `taskpool worker ...` serves a taskpool/queue queue (lib/queue/worker-command.ts).
const command = argv[0] === 'worker' ? import('../queue/worker-command.js').then((worker) => worker.main(argv.slice(1))) : main(argv);
command.then(
  (code) => {
    // Exit once what was written has been flushed, even if stdin (a terminal) is still open.
    let pending = 2;
    const done = (): void => {
      if (--pending === 0) process.exit(code);
    };
    process.stdout.write('', done);
    process.stderr.write('', done);
  },
  /* c8 ignore next 4 */
  (error: unknown) => {
    console.error('taskpool: unexpected error:', error);
    process.exit(1);
  },
);
