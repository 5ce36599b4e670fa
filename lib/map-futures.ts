import { internals, type Future } from './future.js';
import { mapWorkItems, type AnyIterable, type MapItem, type MapListener, type MapOptions, type MapResults } from './map.js';
import { Settled } from './work-item.js';

/**
 * `map` for a backend whose `submit` gives futures (`taskpool/queue`): the core's executors
 * hand `map` items that are their own handles, so none of this is in the core's entry.
 */

/** A future seen as a {@link MapItem}. */
class FutureItem implements MapItem {
  readonly #future: Future<unknown>;

  constructor(future: Future<unknown>) {
    this.#future = future;
  }

  get settled(): Settled {
    const state = this.#future.state;
    if (state === 'fulfilled') return Settled.FULFILLED;
    if (state === 'rejected') return Settled.REJECTED;
    return state === 'cancelled' ? Settled.CANCELLED : Settled.NOT_YET;
  }

  get outcome(): unknown {
    return internals.outcome(this.#future);
  }

  position = 0;

  done(): boolean {
    return this.#future.done();
  }

  cancel(reason?: unknown): boolean {
    return this.#future.cancel(reason);
  }

  whenDone(map: MapListener): void {
    this.#future.addDoneCallback(() => map.itemSettled(this));
  }
}

/**
 * Runs `submit` over zipped inputs and yields the outcomes in input or completion order,
 * keeping at most `bufferSize` submitted and not yet yielded (as `mapWorkItems`).
 * `action` names the call in messages ("map over executor 'x'"); `assertOpen`, called once
 * the arguments are valid, throws when the executor takes no work.
 * @internal
 */
export function mapIterables<R>(
  submit: (values: unknown[]) => Future<R>,
  iterables: AnyIterable<unknown>[],
  options: MapOptions | undefined,
  action: string,
  assertOpen?: () => void,
): MapResults<R> {
  return mapWorkItems({ submit: (values) => new FutureItem(submit(values)) }, iterables, options, action, assertOpen);
}
