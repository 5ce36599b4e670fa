/** Compile-only tests of the types of memoize and the policy options. */
import { CircuitBreaker, memoize, type BackoffFunction, type CircuitState, type RetryOptions } from '../../lib/index.js';
import { assertType, type Equal } from '../types/type-utils.js';

declare function fetchPrice(sku: string, currency?: 'EUR' | 'USD'): Promise<number>;

export function memoizeTypes(): void {
  const cached = memoize(fetchPrice, { ttl: 60_000 });
  assertType<Equal<typeof cached, (sku: string, currency?: 'EUR' | 'USD') => Promise<number>>>();
  void cached('a');
  void cached('a', 'USD');
  // @ts-expect-error the parameters are fn's
  void cached(1);
  // @ts-expect-error a missing required parameter
  void cached();

  const _sync = memoize((n: number) => n > 0, { ttl: 1 });
  assertType<Equal<typeof _sync, (n: number) => Promise<boolean>>>();

  memoize(fetchPrice, {
    ttl: 1,
    key: (sku, currency) => {
      assertType<Equal<typeof sku, string>>();
      assertType<Equal<typeof currency, 'EUR' | 'USD' | undefined>>();
      return `${sku}:${currency}`;
    },
  });
  // A key that names fn's optional parameter keeps it optional.
  const keyed = memoize(fetchPrice, { ttl: 1, key: (sku, currency) => `${sku}:${currency ?? 'EUR'}` });
  assertType<Equal<typeof keyed, (sku: string, currency?: 'EUR' | 'USD') => Promise<number>>>();
  void keyed('a');
  const withDefault = memoize(async (n: number, unit = 'ms') => `${n}${unit}`, { ttl: 1, key: (n, unit) => `${n}${unit}` });
  void withDefault(1);
  // @ts-expect-error ttl is required
  memoize(fetchPrice, { maxSize: 3 });
  // @ts-expect-error option objects are closed
  memoize(fetchPrice, { ttl: 1, size: 3 });
  // @ts-expect-error key takes fn's parameters
  memoize(fetchPrice, { ttl: 1, key: (sku: number) => sku });

  const breaker = new CircuitBreaker({ consecutiveFailures: 5, halfOpenAfter: 30_000 });
  assertType<Equal<typeof breaker.state, CircuitState>>();
  assertType<Equal<CircuitState, 'closed' | 'open' | 'half-open'>>();
  const _unsubscribe = breaker.onStateChange((_state, _previous) => {
    assertType<Equal<typeof _state, CircuitState>>();
    assertType<Equal<typeof _previous, CircuitState>>();
  });
  assertType<Equal<typeof _unsubscribe, () => void>>();
  // @ts-expect-error state is read-only
  breaker.state = 'open';
  // @ts-expect-error halfOpenAfter is required
  void new CircuitBreaker({ consecutiveFailures: 5 });

  const backoff: BackoffFunction = ({ attempt, error: _error }) => {
    assertType<Equal<typeof _error, unknown>>();
    return attempt < 3 ? 100 : undefined;
  };
  const retry: RetryOptions = { attempts: 3, backoff, retryIf: (error, attempt) => error !== undefined && attempt < 2 };
  void retry;
  // @ts-expect-error jitter is one of four
  const _badJitter: RetryOptions = { backoff: { jitter: 'half' } };
}
