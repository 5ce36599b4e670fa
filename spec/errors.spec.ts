import { expect } from 'chai';
import { BrokenExecutorError, CancelledError, ExecutorShutdownError, InvalidStateError, TimeoutError } from '../lib/index.js';

type ErrorClass = new (message?: string, options?: ErrorOptions) => Error;

const CLASSES: readonly { readonly Class: ErrorClass; readonly name: string; readonly message: string }[] = [
  { Class: CancelledError, name: 'CancelledError', message: 'Cancelled' },
  { Class: TimeoutError, name: 'TimeoutError', message: 'Timed out' },
  { Class: InvalidStateError, name: 'InvalidStateError', message: 'Invalid state' },
  { Class: ExecutorShutdownError, name: 'ExecutorShutdownError', message: 'The executor has been shut down' },
  { Class: BrokenExecutorError, name: 'BrokenExecutorError', message: 'The executor is broken' },
];

/** The brand the library puts on its errors, shared by every copy of it (ESM and CommonJS). */
const BRAND = Symbol.for('taskpool.error.brand');

/** An error as another build of the library would make it: another class, the same brand. */
function fromOtherBuild(name: string, message = 'from the other build'): Error {
  class OtherBuildError extends Error {}
  const error = new OtherBuildError(message);
  error.name = name;
  Object.defineProperty(error, BRAND, { value: { [name]: true }, configurable: true });
  return error;
}

describe('errors', () => {
  for (const { Class, name, message } of CLASSES) {
    describe(name, () => {
      it('has its name, a default message and an Error prototype chain', () => {
        const error = new Class();
        expect(error.name).to.equal(name);
        expect(error.message).to.equal(message);
        expect(error).to.be.instanceOf(Class);
        expect(error).to.be.instanceOf(Error);
        expect(String(error)).to.equal(`${name}: ${message}`);
        expect(error.stack).to.be.a('string').that.includes(name);
        expect(Object.prototype.toString.call(error)).to.equal('[object Error]');
      });

      it('takes a message and a cause', () => {
        const cause = new Error('underneath');
        const error = new Class('custom', { cause });
        expect(error.message).to.equal('custom');
        expect(error.cause).to.equal(cause);
      });

      it('keeps instanceof for a subclass, both ways', () => {
        class Specific extends Class {
          constructor() {
            super('specific');
            this.name = `Specific${name}`;
          }
        }
        const error: Error = new Specific();
        expect(error).to.be.instanceOf(Specific);
        expect(error).to.be.instanceOf(Class);
        expect(error).to.be.instanceOf(Error);
        expect(new Class()).not.to.be.instanceOf(Specific);
        expect(error.name).to.equal(`Specific${name}`);
      });

      it('recognises the same error from another build by its brand', () => {
        const foreign = fromOtherBuild(name);
        expect(foreign).to.be.instanceOf(Class);
        for (const other of CLASSES) {
          if (other.Class !== Class) expect(foreign).not.to.be.instanceOf(other.Class);
        }
      });

      it('is not fooled by look-alikes', () => {
        const plain = new Error(message);
        plain.name = name;
        expect(plain).not.to.be.instanceOf(Class);
        expect(Object.create(Class.prototype)).not.to.be.instanceOf(Class);
        expect({ name, message }).not.to.be.instanceOf(Class);
        for (const value of [null, undefined, 0, '', name]) expect(value).not.to.be.instanceOf(Class);
        const wrongBrand = fromOtherBuild('SomethingElse');
        expect(wrongBrand).not.to.be.instanceOf(Class);
      });
    });
  }

  it('keeps the classes apart', () => {
    for (const { Class } of CLASSES) {
      const error = new Class();
      for (const other of CLASSES) expect(error instanceof other.Class).to.equal(other.Class === Class);
    }
  });

  it('keeps the brand of a subclass of a subclass, and the brand is not enumerable', () => {
    class Outer extends CancelledError {}
    class Inner extends Outer {}
    const error = new Inner();
    expect(error).to.be.instanceOf(Inner).and.instanceOf(Outer).and.instanceOf(CancelledError);
    expect(error).not.to.be.instanceOf(TimeoutError);
    expect(Object.prototype.propertyIsEnumerable.call(error, BRAND)).to.equal(false);
    expect(Object.getOwnPropertySymbols(error)).to.deep.equal([BRAND]);
  });

  it('does not take the DOM TimeoutError or AbortError for its own', () => {
    expect(new DOMException('t', 'TimeoutError')).not.to.be.instanceOf(TimeoutError);
    expect(AbortSignal.abort().reason).not.to.be.instanceOf(CancelledError);
  });

  it('a subclass of a branded error from the other build is recognised by the base check', () => {
    const foreign = fromOtherBuild('TimeoutError');
    class Sub extends TimeoutError {}
    expect(foreign).to.be.instanceOf(TimeoutError);
    expect(foreign).not.to.be.instanceOf(Sub);
  });
});
