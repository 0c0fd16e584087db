/**
 * A small token-bucket rate limiter keyed by string (client id, IP address, user name…).
 *
 * Reusable by every part of the AS (token, registration, login): `new RateLimiter({ ratePerSecond,
 * burst })`, then `limiter.take(key)` → `{ ok: true }` or `{ ok: false, retryAfterSeconds }`.
 * `rateLimited(retryAfterSeconds)` builds the OAuthError (429, `Retry-After`) the endpoints return.
 * Memory is bounded: at most `maxKeys` buckets; the least recently used bucket is dropped first
 * (a dropped bucket is full again, which only ever errs towards allowing, never towards denying
 * a client that did nothing).
 *
 * Used by the token endpoints (per address and per client), registration (src/oauth/clients) and
 * login (src/users): import it from here or from src/oauth/index.ts. `now` is in milliseconds.
 */
import { OAuthError } from "./types.ts";

export interface RateLimiterOptions {
  /** Sustained requests per second per key. */
  readonly ratePerSecond: number;
  /** Requests allowed at once before the rate applies. */
  readonly burst: number;
  /** Buckets kept (default 10 000). */
  readonly maxKeys?: number;
  /** ms since the epoch; for tests. */
  readonly now?: () => number;
}

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  // Map keeps insertion order: re-inserting on use makes the first entry the least recently used.
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1)) throw new TypeError("RateLimiter: ratePerSecond must be > 0 and burst >= 1");
    this.#rate = options.ratePerSecond;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one request's worth from `key`'s bucket. */
  take(key: string): RateDecision {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.#rate);
      bucket.updatedAt = now;
    } else {
      bucket = { tokens: this.#burst, updatedAt: now };
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value as string);
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate)) };
  }

  /** Takes from every key; refused if any bucket is empty (e.g. per client and per IP). */
  takeAll(keys: readonly string[]): RateDecision {
    let worst: RateDecision = { ok: true };
    for (const key of keys) {
      const d = this.take(key);
      if (!d.ok && (worst.ok || d.retryAfterSeconds > worst.retryAfterSeconds)) worst = d;
    }
    return worst;
  }
}

/** The 429 answer for a refused request (`slow_down`, `Retry-After`). */
export function rateLimited(retryAfterSeconds: number, what = "requests"): OAuthError {
  return new OAuthError("slow_down", `too many ${what}; retry after ${retryAfterSeconds} s`, {
    status: 429,
    headers: { "retry-after": String(retryAfterSeconds) },
  });
}
