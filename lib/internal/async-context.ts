/**
 * Carries the async context (AsyncLocalStorage) of the call that schedules a task over to the
 * moment the task starts. Uses `node:async_hooks` where the runtime has it, looked up at run
 * time so that the core still loads where it does not exist (browsers): there, tasks simply
 * run in the context that starts them.
 */

import { builtinModule } from './runtime.js';
import { keepShape } from './shapes.js';

type AsyncResourceLike = { runInAsyncScope<R>(fn: (...args: never[]) => R, thisArg?: unknown, ...args: unknown[]): R };
type AsyncResourceClass = new (type: string) => AsyncResourceLike;

const AsyncResource = builtinModule<{ AsyncResource: AsyncResourceClass }>('node:async_hooks')?.AsyncResource;

/** An opaque captured context; `undefined` where the runtime has none to capture. */
export type Context = AsyncResourceLike | undefined;

/** Captures the current async context. */
export const captureContext: () => Context = AsyncResource
  ? () => new AsyncResource('taskpool.Task')
  : () => undefined;

// The shape of a captured context is kept too: see shapes.ts.
keepShape(captureContext());
