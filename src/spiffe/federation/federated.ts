/**
 * Bundles of other trust domains, kept current in the BundleSet: read from a file or fetched from
 * a bundle endpoint, refreshed per `spiffe_refresh_hint` (bounded), the last good one kept when a
 * refresh fails (Trust Domain and Bundle §4.1.2, §6.1).
 */
import type { AuditInput } from "../../audit/index.ts";
import { trustDomainProblem } from "../../identity/index.ts";
import type { Logger } from "../../log/index.ts";
import { parseBundle, BUNDLE_LIMITS } from "../bundle/parse.ts";
import type { BundleSet } from "../bundle/set.ts";
import { sameAuthorities, type TrustBundle } from "../bundle/types.ts";
import { fetchBundle, readBundleFile } from "./fetch.ts";

export type FederationSource =
  | { readonly trustDomain: string; readonly bundleFile: string }
  | {
      readonly trustDomain: string;
      readonly bundleEndpointUrl: string;
      /** PEM roots that authenticate the endpoint (default: the system's). */
      readonly endpointCA?: string;
    };

export interface FederatedBundlesOptions {
  readonly bundles: BundleSet;
  readonly sources: readonly FederationSource[];
  readonly logger: Logger;
  readonly audit?: { append(input: AuditInput): unknown };
  /** Our own trust domain: it cannot be federated. */
  readonly ownTrustDomain?: string;
  /** Bounds on the refresh interval, seconds (default 30 s and 1 h). */
  readonly minRefreshSeconds?: number;
  readonly maxRefreshSeconds?: number;
  /** Without a refresh hint (§6.1 suggests a low default, e.g. five minutes). */
  readonly defaultRefreshSeconds?: number;
  readonly fetchTimeoutMs?: number;
  readonly maxBytes?: number;
}

export interface FederationStatus {
  readonly trustDomain: string;
  readonly source: string;
  readonly sequence?: number;
  readonly lastSuccess?: number;
  readonly lastError?: string;
  readonly failures: number;
  readonly nextRefresh?: number;
}

interface Entry {
  readonly source: FederationSource;
  bundle?: TrustBundle;
  lastSuccess?: number;
  lastError?: string;
  failures: number;
  nextRefresh?: number;
  timer?: ReturnType<typeof setTimeout>;
  running?: Promise<void>;
}

export class FederatedBundles {
  readonly #entries = new Map<string, Entry>();
  readonly #o: Required<Omit<FederatedBundlesOptions, "audit" | "ownTrustDomain">> & Pick<FederatedBundlesOptions, "audit">;
  #stopped = false;

  constructor(options: FederatedBundlesOptions) {
    this.#o = {
      bundles: options.bundles,
      sources: options.sources,
      audit: options.audit,
      logger: options.logger.child({ component: "spiffe-federation" }),
      minRefreshSeconds: options.minRefreshSeconds ?? 30,
      maxRefreshSeconds: options.maxRefreshSeconds ?? 3600,
      defaultRefreshSeconds: options.defaultRefreshSeconds ?? 300,
      fetchTimeoutMs: options.fetchTimeoutMs ?? 10_000,
      maxBytes: options.maxBytes ?? BUNDLE_LIMITS.maxBytes,
    };
    if (this.#o.minRefreshSeconds <= 0 || this.#o.maxRefreshSeconds < this.#o.minRefreshSeconds) throw new TypeError("FederatedBundles: need 0 < minRefreshSeconds ≤ maxRefreshSeconds");
    for (const source of options.sources) {
      const td = source.trustDomain;
      const problem = trustDomainProblem(td);
      if (problem) throw new TypeError(`federation: invalid trust domain ${JSON.stringify(td)}: ${problem.message}`);
      if (td === options.ownTrustDomain) throw new TypeError(`federation: ${td} is sluice's own trust domain`);
      if (this.#entries.has(td)) throw new TypeError(`federation: ${td} is configured twice`);
      if ("bundleEndpointUrl" in source && new URL(source.bundleEndpointUrl).protocol !== "https:") throw new TypeError(`federation: ${td}: the bundle endpoint must be https`);
      this.#entries.set(td, { source, failures: 0 });
    }
  }

  /** Load every source once (failures are logged and retried), then keep refreshing. */
  async start(): Promise<void> {
    await Promise.all([...this.#entries.keys()].map((td) => this.refreshNow(td)));
  }

  /** Refresh one trust domain (or all) now; resolves when done. Never throws for a source failure. */
  async refreshNow(trustDomain?: string): Promise<void> {
    const tds = trustDomain === undefined ? [...this.#entries.keys()] : [trustDomain];
    await Promise.all(tds.map((td) => this.#refresh(td)));
  }

  status(): FederationStatus[] {
    return [...this.#entries.entries()].map(([trustDomain, e]) => ({
      trustDomain,
      source: "bundleFile" in e.source ? e.source.bundleFile : e.source.bundleEndpointUrl,
      ...(e.bundle ? { sequence: e.bundle.sequence } : {}),
      ...(e.lastSuccess === undefined ? {} : { lastSuccess: e.lastSuccess }),
      ...(e.lastError === undefined ? {} : { lastError: e.lastError }),
      failures: e.failures,
      ...(e.nextRefresh === undefined ? {} : { nextRefresh: e.nextRefresh }),
    }));
  }

  stop(): void {
    this.#stopped = true;
    for (const e of this.#entries.values()) clearTimeout(e.timer);
  }

  #refresh(td: string): Promise<void> {
    const entry = this.#entries.get(td);
    if (!entry) return Promise.reject(new TypeError(`federation: ${td} is not configured`));
    entry.running ??= this.#load(td, entry).finally(() => (entry.running = undefined));
    return entry.running;
  }

  async #load(td: string, entry: Entry): Promise<void> {
    const limits = { maxBytes: this.#o.maxBytes, timeoutMs: this.#o.fetchTimeoutMs };
    const log = this.#o.logger;
    try {
      const s = entry.source;
      const bytes = "bundleFile" in s ? await readBundleFile(s.bundleFile, limits) : await fetchBundle(s.bundleEndpointUrl, s.endpointCA, limits);
      const bundle = parseBundle(bytes, td);
      const previous = entry.bundle;
      if (previous && bundle.sequence < previous.sequence) log.warn("federated bundle's sequence went backwards", { trustDomain: td, from: previous.sequence, to: bundle.sequence });
      entry.lastSuccess = Date.now();
      entry.failures = 0;
      entry.lastError = undefined;
      if (!previous || previous.sequence !== bundle.sequence || !sameAuthorities(previous, bundle)) {
        entry.bundle = this.#o.bundles.set(bundle);
        const details = { trustDomain: td, sequence: bundle.sequence, x509Authorities: bundle.x509Authorities.length, jwtAuthorities: bundle.jwtAuthorities.length };
        log.info("federated bundle updated", details);
        this.#o.audit?.append({ kind: "spiffe.federation.update", subject: `spiffe://${td}`, decision: "info", details });
      }
      this.#schedule(td, entry, this.#interval(bundle.refreshHint));
    } catch (error) {
      entry.failures++;
      entry.lastError = (error as Error).message;
      // The last good bundle stays in the set: a peer's outage must not make its SVIDs unverifiable.
      log.warn("federated bundle refresh failed; keeping the last good bundle", { trustDomain: td, error, failures: entry.failures, haveBundle: !!entry.bundle });
      const backoff = this.#o.minRefreshSeconds * 2 ** Math.min(entry.failures - 1, 10);
      this.#schedule(td, entry, Math.min(backoff, this.#interval(entry.bundle?.refreshHint)));
    }
  }

  #interval(hint: number | undefined): number {
    return Math.min(Math.max(hint ?? this.#o.defaultRefreshSeconds, this.#o.minRefreshSeconds), this.#o.maxRefreshSeconds);
  }

  #schedule(td: string, entry: Entry, seconds: number): void {
    clearTimeout(entry.timer);
    if (this.#stopped) return;
    entry.nextRefresh = Date.now() + seconds * 1000;
    entry.timer = setTimeout(() => void this.#refresh(td), seconds * 1000);
    entry.timer.unref?.();
  }
}
