/**
 * The bundles sluice knows: its own trust domain's (kept current by the CA) and federated ones.
 * Verifiers read it; the Workload API and the bundle endpoint subscribe to changes.
 */
import { isValidTrustDomain } from "../../identity/index.ts";
import { silentLogger, type Logger } from "../../log/index.ts";
import { freezeBundle, type BundleSource, type TrustBundle } from "./types.ts";

export type BundleChangeListener = (trustDomain: string, bundle: TrustBundle | undefined) => void;

export class BundleSet implements BundleSource {
  readonly #bundles = new Map<string, TrustBundle>();
  readonly #listeners = new Set<BundleChangeListener>();
  readonly #logger: Logger;

  constructor(options: { logger?: Logger } = {}) {
    this.#logger = options.logger ?? silentLogger;
  }

  get(trustDomain: string): TrustBundle | undefined {
    return this.#bundles.get(trustDomain);
  }

  trustDomains(): string[] {
    return [...this.#bundles.keys()].sort();
  }

  all(): TrustBundle[] {
    return this.trustDomains().map((td) => this.#bundles.get(td)!);
  }

  /** Replace the bundle of `bundle.trustDomain`; listeners hear of it unless it is the identical object. */
  set(bundle: TrustBundle): TrustBundle {
    if (!isValidTrustDomain(bundle.trustDomain)) throw new TypeError(`invalid trust domain ${JSON.stringify(bundle.trustDomain)}`);
    if (this.#bundles.get(bundle.trustDomain) === bundle) return bundle;
    const frozen = Object.isFrozen(bundle) ? bundle : freezeBundle(bundle);
    this.#bundles.set(bundle.trustDomain, frozen);
    this.#emit(bundle.trustDomain, frozen);
    return frozen;
  }

  delete(trustDomain: string): boolean {
    if (!this.#bundles.delete(trustDomain)) return false;
    this.#emit(trustDomain, undefined);
    return true;
  }

  /** `listener(trustDomain, bundle | undefined)` after each change; returns the unsubscribe function. */
  onBundleChange(listener: BundleChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(trustDomain: string, bundle: TrustBundle | undefined): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(trustDomain, bundle);
      } catch (error) {
        // A subscriber's bug must not stop others from hearing of a key change.
        this.#logger.error("bundle change listener failed", { trustDomain, error });
      }
    }
  }
}
