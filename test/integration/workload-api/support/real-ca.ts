/**
 * The Workload API's SvidSource as `sluice serve` builds it (src/server/identity.ts): sluice's own
 * trust domain CA (src/spiffe, `openTrustDomainCA`) over a real LMDB store in a temp dir, adapted by
 * `svidSourceFor`. A second real CA, for the federated trust domain `partner.test` (its own store),
 * supplies the federated bundle: its `bundle()` is set into the first CA's `bundles`, as
 * FederatedBundles does with a fetched one.
 *
 * Faults are caused for real too: `ca.close()` makes issuance fail (ERR_CA_CLOSED), `ca.rotateNow()`
 * publishes a successor authority (a bundle change).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../../../../src/log/index.ts";
import { svidSourceFor } from "../../../../src/server/svid-source.ts";
import { openTrustDomainCA, type TrustDomainCA } from "../../../../src/spiffe/index.ts";
import type { SvidSource } from "../../../../src/spiffe/workload-api/index.ts";
import { openStore, type Store } from "../../../../src/store/index.ts";

export const TRUST_DOMAIN = "example.org";
export const FEDERATED_TRUST_DOMAIN = "partner.test";

/**
 * Test instrumentation, not a fake: every call goes unchanged to the real `svidSourceFor(ca)`.
 * It only counts live `onBundleChange` subscriptions, which BundleSet does not expose, so a test
 * can assert the server subscribes once rather than once per stream.
 */
export class CountingSvidSource implements SvidSource {
  #subscriptions = 0;

  constructor(private readonly real: SvidSource) {}

  issueX509Svid(req: Parameters<SvidSource["issueX509Svid"]>[0]) {
    return this.real.issueX509Svid(req);
  }
  issueJwtSvid(req: Parameters<SvidSource["issueJwtSvid"]>[0]) {
    return this.real.issueJwtSvid(req);
  }
  validateJwtSvid(token: string, audience: string) {
    return this.real.validateJwtSvid(token, audience);
  }
  x509Bundles() {
    return this.real.x509Bundles();
  }
  jwtBundles() {
    return this.real.jwtBundles();
  }
  onBundleChange(fn: () => void): () => void {
    const unsubscribe = this.real.onBundleChange(fn);
    this.#subscriptions++;
    let subscribed = true;
    return () => {
      if (subscribed) this.#subscriptions--;
      subscribed = false;
      unsubscribe();
    };
  }

  /** Live bundle-change subscriptions made through this source. */
  get listenerCount(): number {
    return this.#subscriptions;
  }
}

interface OpenedCA {
  ca: TrustDomainCA;
  close(): Promise<void>;
}

/** A real CA on a fresh store in its own temp dir; `close()` closes both and removes the dir. */
async function openCA(trustDomain: string, logger: Logger): Promise<OpenedCA> {
  const root = mkdtempSync(join(tmpdir(), `sluice-wlapi-ca-${trustDomain}-`));
  let store: Store | undefined;
  try {
    const opened = (store = await openStore({ dataDir: join(root, "data"), logger }));
    const ca = openTrustDomainCA({ store: opened, trustDomain, logger });
    return {
      ca,
      async close() {
        ca.close();
        await opened.close();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await store?.close();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

export interface TestCAs {
  /** sluice's CA for example.org. */
  ca: TrustDomainCA;
  /** The CA of the federated trust domain partner.test. */
  partner: TrustDomainCA;
  /** `svidSourceFor(ca)`, as the server is given it (counted, see CountingSvidSource). */
  svids: CountingSvidSource;
  close(): Promise<void>;
}

export async function openTestCAs(logger: Logger): Promise<TestCAs> {
  const own = await openCA(TRUST_DOMAIN, logger);
  let federated: OpenedCA;
  try {
    federated = await openCA(FEDERATED_TRUST_DOMAIN, logger);
  } catch (err) {
    await own.close();
    throw err;
  }
  own.ca.bundles.set(federated.ca.bundle());
  let closed = false;
  return {
    ca: own.ca,
    partner: federated.ca,
    svids: new CountingSvidSource(svidSourceFor(own.ca)),
    async close() {
      if (closed) return;
      closed = true;
      await federated.close();
      await own.close();
    },
  };
}
