// The task module of the worker examples in lib/worker/ (`new URL('./tasks.js', import.meta.url)`).

export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export function resize(bytes: Uint8Array, width: number): Uint8Array {
  return bytes.subarray(0, width);
}

export async function hash(bytes: Uint8Array): Promise<string> {
  return String(bytes.length);
}

export function crunch(data: Float64Array): number {
  return data.reduce((sum, value) => sum + value, 0);
}

export function parse(input: string): unknown {
  return JSON.parse(input);
}
