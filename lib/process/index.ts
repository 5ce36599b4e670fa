/**
 * `taskpool/process`: run programs as tasks of any executor, with a timeout, cancellation,
 * exit codes and captured output. Node.js only.
 *
 * @example
 * ```ts
 * import { TaskPoolExecutor } from 'taskpool';
 * import { runProcess } from 'taskpool/process';
 *
 * await using pool = new TaskPoolExecutor({ maxWorkers: 4 });
 * const result = await pool.submit(runProcess, 'gzip', ['-k', 'notes.txt']);
 * ```
 *
 * @module
 */
export { runProcess, type ProcessResult, type RunProcessOptions } from './run-process.js';
export { ProcessError } from './process-error.js';
