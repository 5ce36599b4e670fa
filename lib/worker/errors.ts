import { BrandedError, registerBrand } from '../errors.js';

/**
 * A worker thread died while it ran a task: an uncaught error (a throw from a timer, an
 * unhandled rejection), `process.exit()`, or running out of memory under `resourceLimits`.
 * Only that task's future fails with it; the executor replaces the worker and keeps serving.
 * `cause` holds the worker's own error when there was one.
 *
 * As taskpool's other errors, `instanceof` works across the ESM and CommonJS builds; checking
 * `error.name === 'WorkerCrashError'` works everywhere.
 *
 * @example
 * ```ts
 * const outcome = await settle(pool.submit('parse', input));
 * if (!outcome.ok && outcome.error instanceof WorkerCrashError) console.log(outcome.error.exitCode);
 * ```
 */
export class WorkerCrashError extends BrandedError {
  static {
    registerBrand(this, 'WorkerCrashError');
  }

  /** The worker's exit code (1 after an uncaught error; what it passed to `process.exit()`). */
  readonly exitCode: number;

  /**
   * @param message - what happened, naming the executor and the task.
   * @param exitCode - the worker's exit code.
   * @param options - `{ cause }`: the worker's uncaught error, when there was one.
   */
  constructor(message: string, exitCode: number, options?: ErrorOptions) {
    super('WorkerCrashError', message, options);
    this.exitCode = exitCode;
  }
}
