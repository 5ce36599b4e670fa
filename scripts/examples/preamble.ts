/* eslint-disable @typescript-eslint/no-unused-vars -- each declaration is used by the examples, not here */
// The free names of the @example blocks in lib/: what an example uses without declaring it.
// scripts/check-examples.mjs puts these declarations at the top of each example module (after
// importing every public name of 'taskpool', 'taskpool/worker' and 'taskpool/process'), less
// the names the example declares or imports itself. Typed as a reader would assume, so that a
// wrong use of the API in an example is a type error.
//
// Sections: `// @scope <path prefix>` starts the declarations for the examples of the files
// under that prefix; a later, longer prefix overrides a name of an earlier one. To give new
// examples their names, add a `declare` line to the section that fits (one name a line).

// @scope lib/
declare const pool: TaskPoolExecutor;
declare const future: Future<number>;
declare const futures: Future<number>[];
declare const results: Result<number>[];
declare const url: string;
declare const urls: string[];
declare const items: string[];
declare const signal: AbortSignal;
declare const request: { readonly signal: AbortSignal };
declare const fallback: number;
declare function work(item?: string): Promise<number>;
declare function handle(item: string): Promise<void>;
declare function longJob(): Promise<void>;
declare function fetchJson(url: string): Promise<unknown>;
declare function fetchPage(url: string): Promise<string>;
declare function save(page: string): void;
declare function use(value: unknown): void;
declare function log(error: unknown): void;
declare function replaceThePool(): void;
declare function flakyFetch(context: TaskContext): Promise<string>;
declare function task(context: TaskContext): Promise<number>;
declare function callTheApi(context: TaskContext): Promise<number>;
declare function callTheService(): Promise<number>;
declare function serveFromCache(): number;
declare function showServiceDownBanner(): void;
declare function isThrottled(error: unknown): boolean;
declare function fetchPrice(symbol: string): Promise<number>;
declare class HttpError extends Error {
  readonly status: number;
  readonly retryAfter?: number;
}
declare const breaker: CircuitBreaker;
declare const metrics: { gauge(name: string, value: string): void };

// @scope lib/worker/
// `./tasks.js` is scripts/examples/tasks.ts, copied beside the example modules.
declare const pool: WorkerPoolExecutor<typeof import('./tasks.js')>;
declare const data: Float64Array<ArrayBuffer>;
declare const bytes: Uint8Array;
declare const imageBytes: Uint8Array;
declare const images: Uint8Array[];
declare const files: Uint8Array[];
declare const input: string;

// @scope lib/queue/
declare const handlers: {
  resize(image: Uint8Array, width: number, context: TaskContext): Promise<Uint8Array>;
  fib(n: number): number;
  add(a: number, b: number): number;
};
declare const pool: QueueExecutor<typeof handlers>;
declare const otherPool: QueueExecutor<typeof handlers>;
declare const server: QueueServer;
declare const connection: string;
declare const image: Uint8Array;
declare const inputs: number[];
declare let total: number;
declare function resizeImage(image: Uint8Array, width: number, options: { signal: AbortSignal }): Promise<Uint8Array>;
