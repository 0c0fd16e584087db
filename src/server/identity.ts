/**
 * The identity half of `sluice serve`: the trust domain's CA (with federated bundles), the
 * attestor, and the SPIFFE Workload API on its unix socket.
 */
import type { AuditLog } from "../audit/index.ts";
import type { SluiceConfig } from "../config/index.ts";
import { Attestor } from "../identity/index.ts";
import type { Logger } from "../log/index.ts";
import type { PolicyEngine } from "../policy/index.ts";
import { BundleSet, bundleRoutes, FederatedBundles, openTrustDomainCA, type FederationSource, type TrustDomainCA } from "../spiffe/index.ts";
import { createWorkloadApiServer } from "../spiffe/workload-api/index.ts";
import type { Store } from "../store/index.ts";
import { callerIdentifierFor } from "./caller-identifier.ts";
import type { RouteModule } from "./http.ts";
import { svidSourceFor } from "./svid-source.ts";

export interface IdentityServices {
  readonly ca: TrustDomainCA;
  readonly attestor: Attestor;
  readonly routes: readonly RouteModule[];
  readonly workloadSocket: string;
}

export interface Started<T> {
  readonly value: T;
  /** Stops, in reverse order, what was started. */
  readonly stop: () => Promise<void>;
}

export async function startIdentity(deps: { config: SluiceConfig; store: Store; audit: AuditLog; policy: PolicyEngine; logger: Logger }): Promise<Started<IdentityServices>> {
  const { config, store, audit, policy, logger } = deps;
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    const bundles = new BundleSet({ logger });
    const ca = openTrustDomainCA({
      store,
      trustDomain: config.trustDomain,
      logger: logger.child({ component: "ca" }),
      audit,
      bundles,
      caTTLSeconds: config.ca.ttlSeconds,
      overlapSeconds: config.ca.overlapSeconds,
      ...(config.ca.intermediate ? { intermediate: config.ca.intermediate } : {}),
    });
    stops.push(() => ca.close());

    if (config.federation.length > 0) {
      const sources: FederationSource[] = config.federation.map((f) =>
        f.bundleFile !== null ? { trustDomain: f.trustDomain, bundleFile: f.bundleFile } : { trustDomain: f.trustDomain, bundleEndpointUrl: f.bundleEndpoint! },
      );
      const federation = new FederatedBundles({ bundles, sources, logger, audit, ownTrustDomain: config.trustDomain });
      await federation.start();
      stops.push(() => federation.stop());
    }

    const attestor = new Attestor({ logger: logger.child({ component: "attestor" }), audit });
    stops.push(() => attestor.close());

    const workloadApi = createWorkloadApiServer({
      socketPath: config.workloadSocket,
      svids: svidSourceFor(ca),
      callers: callerIdentifierFor(attestor, policy),
      logger: logger.child({ component: "workload-api" }),
      audit,
    });
    await workloadApi.start();
    stops.push(() => workloadApi.stop());

    return { value: { ca, attestor, routes: [bundleRoutes(ca)], workloadSocket: workloadApi.address }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
