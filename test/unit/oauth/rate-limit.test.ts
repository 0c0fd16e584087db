import { describe, expect, test } from "bun:test";
import { RateLimiter, rateLimited } from "../../../src/oauth/index.ts";

describe("RateLimiter (token bucket)", () => {
  test("allows the burst, then refuses with a Retry-After, then refills at the rate", () => {
    let t = 0;
    const limiter = new RateLimiter({ ratePerSecond: 2, burst: 3, now: () => t });
    expect([1, 2, 3].map(() => limiter.take("a").ok)).toEqual([true, true, true]);
    const refused = limiter.take("a");
    expect(refused).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(limiter.take("b").ok).toBe(true); // keys are independent
    t += 500; // one token back at 2/s
    expect(limiter.take("a").ok).toBe(true);
    expect(limiter.take("a").ok).toBe(false);
  });

  test("takeAll refuses when any key is empty", () => {
    const t = 0;
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, now: () => t });
    expect(limiter.takeAll(["ip", "client"]).ok).toBe(true);
    expect(limiter.takeAll(["ip2", "client"]).ok).toBe(false);
  });

  test("memory is bounded: the least recently used bucket is dropped", () => {
    const t = 0;
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 2, now: () => t });
    limiter.take("a");
    limiter.take("b");
    limiter.take("c"); // drops "a"
    expect(limiter.take("a").ok).toBe(true);
    expect(limiter.take("c").ok).toBe(false);
  });

  test("rateLimited is a 429 slow_down with Retry-After", () => {
    const err = rateLimited(7);
    expect(err.status).toBe(429);
    expect(err.error).toBe("slow_down");
    expect(err.headers["retry-after"]).toBe("7");
  });

  test("refuses nonsense options", () => {
    expect(() => new RateLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(TypeError);
  });
});
