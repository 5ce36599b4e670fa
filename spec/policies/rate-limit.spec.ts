import { expect } from 'chai';
import { now } from '../../lib/internal/timers.js';
import { checkRateLimit, RateLimiter } from '../../lib/policies/rate-limit.js';

const ACTION = 'create TaskPoolExecutor';

describe('policies: rate limit', () => {
  describe('checkRateLimit', () => {
    const cases: [unknown, typeof TypeError, string][] = [
      [10, TypeError, "Cannot create TaskPoolExecutor as 'rateLimit' must be an object: current value is 10"],
      [{ interval: 1_000 }, TypeError, "Cannot create TaskPoolExecutor as 'rateLimit.limit' must be a positive integer: current value is undefined"],
      [{ limit: 10 }, TypeError, "Cannot create TaskPoolExecutor as 'rateLimit.interval' must be a positive finite number of milliseconds: current value is undefined"],
      [{ limit: 0, interval: 1_000 }, RangeError, "Cannot create TaskPoolExecutor as 'rateLimit.limit' must be a positive integer: current value is 0"],
      [{ limit: 2.5, interval: 1_000 }, RangeError, "Cannot create TaskPoolExecutor as 'rateLimit.limit' must be a positive integer: current value is 2.5"],
      [{ limit: 10, interval: 0 }, RangeError, "Cannot create TaskPoolExecutor as 'rateLimit.interval' must be a positive finite number of milliseconds: current value is 0"],
      [{ limit: 10, interval: Infinity }, RangeError, "Cannot create TaskPoolExecutor as 'rateLimit.interval' must be a positive finite number of milliseconds: current value is Infinity"],
      [{ limit: 10, interval: '1s' }, TypeError, `Cannot create TaskPoolExecutor as 'rateLimit.interval' must be a positive finite number of milliseconds: current value is "1s"`],
      [{ limit: 10, interval: 1_000, burst: 2 }, TypeError, `Cannot create TaskPoolExecutor as 'rateLimit' has an unknown key "burst": the known keys are 'limit', 'interval'`],
    ];
    for (const [value, ErrorType, message] of cases) {
      it(`throws ${ErrorType.name} for ${JSON.stringify(value)}`, () => {
        expect(() => checkRateLimit(value, ACTION, 'rateLimit'))
          .to.throw(ErrorType)
          .with.property('message', message);
      });
    }
  });

  describe('places held by tasks let through', () => {
    it('counts a task let through as a start to come, at its call or never', () => {
      const limiter = new RateLimiter({ limit: 2, interval: 100 });
      limiter.take(0);
      limiter.reserve(); // it starts at 10 or later
      expect(limiter.delay(10)).to.equal(90); // the window would hold 0, it, and one more
      expect(limiter.start(30)).to.equal(false);
      expect(limiter.delay(30)).to.equal(70); // starts at 0 and 30: the one at 0 leaves at 100
      const full = new RateLimiter({ limit: 2, interval: 100 });
      full.reserve();
      full.reserve();
      expect(full.delay(0)).to.equal(Infinity); // every place held, at times not known yet
      full.release(); // cancelled before its call: no start
      expect(full.delay(0)).to.equal(0);
      expect(full.start(5)).to.equal(false);
      expect(full.delay(5)).to.equal(0);
    });
  });

  describe('its clock', () => {
    it("reads time on Date.now's scale to a fraction of a millisecond, so no window is a millisecond short", () => {
      let fractional = false;
      for (let i = 0; i < 1_000 && !fractional; i++) fractional = !Number.isInteger(now());
      expect(fractional, 'a reading with a fraction of a millisecond').to.equal(true);
      expect(Math.abs(now() - Date.now())).to.be.below(1_000);
      // A start at 100.9 ms: at 110.0 ms (110 in whole milliseconds, 10 after 100) the next waits 0.9 ms more.
      const limiter = new RateLimiter({ limit: 1, interval: 10 });
      limiter.take(100.9);
      expect(limiter.delay(110)).to.be.closeTo(0.9, 1e-9);
    });

    it('follows Date.now once it is replaced (a fake clock)', () => {
      const original = Date.now;
      Date.now = () => 42;
      try {
        expect(now()).to.equal(42);
      } finally {
        Date.now = original;
      }
      expect(now()).to.not.equal(42);
    });
  });

  describe('RateLimiter', () => {
    it('allows limit starts at once, then waits for the oldest to leave the window', () => {
      const limiter = new RateLimiter({ limit: 2, interval: 1_000 });
      expect(limiter.delay(0)).to.equal(0);
      limiter.take(0);
      expect(limiter.delay(0)).to.equal(0);
      limiter.take(0);
      expect(limiter.delay(0)).to.equal(1_000);
      expect(limiter.delay(999)).to.equal(1);
      expect(limiter.delay(1_000)).to.equal(0);
    });

    it('slides: no double burst at what would be a bucket boundary', () => {
      // Fixed one-second buckets would allow 2 starts at 900 and 2 more at 1 000.
      const limiter = new RateLimiter({ limit: 2, interval: 1_000 });
      limiter.take(900);
      limiter.take(950);
      expect(limiter.delay(1_000)).to.equal(900);
      expect(limiter.delay(1_900)).to.equal(0);
      limiter.take(1_900);
      expect(limiter.delay(1_900)).to.equal(50);
      limiter.take(1_950);
      expect(limiter.delay(2_000)).to.equal(900);
    });

    it('keeps only the last limit start times, in a ring', () => {
      const limiter = new RateLimiter({ limit: 3, interval: 100 });
      for (const time of [0, 10, 20, 100, 110, 120, 200]) {
        expect(limiter.delay(time), `at ${time}`).to.equal(0);
        limiter.take(time);
      }
      expect(limiter.delay(200)).to.equal(10);
      expect(limiter.delay(210)).to.equal(0);
    });

    it('counts a clock that steps back as standing still', () => {
      const limiter = new RateLimiter({ limit: 1, interval: 100 });
      limiter.take(500);
      expect(limiter.delay(450)).to.equal(150);
      expect(limiter.delay(600)).to.equal(0);
      limiter.take(400);
      expect(limiter.delay(550)).to.equal(50);
    });
  });
});
