/**
 * Host names in policy (Service addresses, `host:` rules) → IP addresses for the kernel maps,
 * resolved the way the host's programs resolve them (getaddrinfo: /etc/hosts, then DNS) and
 * re-resolved on an interval; a change is announced so the maps are rebuilt.
 *
 * Known limit: a name whose answers rotate (CDNs) may resolve differently for the agent than for
 * sluice; connections to addresses sluice has not seen are denied (never widened).
 */
import { lookup } from "node:dns/promises";
import type { Logger } from "../log/index.ts";

export interface ResolvedHost {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

export type LookupFn = (host: string) => Promise<{ address: string; family: number }[]>;

export interface HostResolverOptions {
  readonly logger: Logger;
  /** Seconds between re-resolutions of every known name. Default 30. */
  readonly refreshSeconds?: number;
  /** Per-name timeout, ms. Default 3000. */
  readonly timeoutMs?: number;
  /** getaddrinfo by default. */
  readonly lookup?: LookupFn;
}

const EMPTY: ResolvedHost = Object.freeze({ v4: Object.freeze([]), v6: Object.freeze([]) });

export class HostResolver {
  readonly #o: Required<Omit<HostResolverOptions, "logger">> & { logger: Logger };
  readonly #cache = new Map<string, ResolvedHost>();
  readonly #listeners = new Set<() => void>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: HostResolverOptions) {
    this.#o = {
      logger: options.logger,
      refreshSeconds: options.refreshSeconds ?? 30,
      timeoutMs: options.timeoutMs ?? 3000,
      lookup: options.lookup ?? ((host) => lookup(host, { all: true, verbatim: true })),
    };
  }

  /** What is known for `host` now (empty until resolved: nothing is allowed for an unresolved name). */
  cached(host: string): ResolvedHost {
    return this.#cache.get(normalize(host)) ?? EMPTY;
  }

  /** Resolves the names not resolved yet (all of them in parallel); true when any answer changed. */
  async ensure(hosts: Iterable<string>): Promise<boolean> {
    const missing = [...new Set([...hosts].map(normalize))].filter((h) => !this.#cache.has(h));
    return this.#resolveAll(missing);
  }

  /** Re-resolves every known name now; announces a change. */
  async refresh(): Promise<boolean> {
    const changed = await this.#resolveAll([...this.#cache.keys()]);
    if (changed) for (const fn of [...this.#listeners]) fn();
    return changed;
  }

  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.refresh(), this.#o.refreshSeconds * 1000);
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #resolveAll(hosts: string[]): Promise<boolean> {
    const results = await Promise.all(hosts.map((h) => this.#resolveOne(h)));
    let changed = false;
    hosts.forEach((host, i) => {
      const next = results[i];
      if (next === undefined) return; // failed: keep the last answer (or nothing)
      const prev = this.#cache.get(host);
      if (!prev || !same(prev, next)) changed = true;
      this.#cache.set(host, next);
    });
    return changed;
  }

  async #resolveOne(host: string): Promise<ResolvedHost | undefined> {
    try {
      const answers = await withTimeout(this.#o.lookup(host), this.#o.timeoutMs, host);
      const v4 = [...new Set(answers.filter((a) => a.family === 4).map((a) => a.address))].sort();
      const v6 = [...new Set(answers.filter((a) => a.family === 6).map((a) => a.address))].sort();
      return Object.freeze({ v4: Object.freeze(v4), v6: Object.freeze(v6) });
    } catch (err) {
      this.#o.logger.warn("cannot resolve a policy host name; nothing is allowed for it until it resolves", { host, error: err });
      return this.#cache.has(host) ? undefined : EMPTY;
    }
  }
}

function normalize(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}

function same(a: ResolvedHost, b: ResolvedHost): boolean {
  return a.v4.join() === b.v4.join() && a.v6.join() === b.v6.join();
}

function withTimeout<T>(p: Promise<T>, ms: number, host: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`resolving ${host} took longer than ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e) => (clearTimeout(t), reject(e)));
  });
}
