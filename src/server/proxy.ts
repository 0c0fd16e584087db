/**
 * The proxy half of `sluice serve` (DESIGN §2 steps 2–4 and 8): the redirect listener the kernel
 * sends managed workloads' Service connects to, the optional explicit CONNECT listener, the
 * discovery rewrite and the broker's injector.
 *
 * The proxy starts before the kernel (the kernel redirects only to a proxy that listens), so the
 * kernel's lookups are read through `kernel()` at accept time: until enforcement is up, or when
 * the kernel cannot enforce, a redirected connection has no record and is refused.
 */
import type { AuditLog } from "../audit/index.ts";
import type { SluiceConfig } from "../config/index.ts";
import { HostResolver, type ResolvedHost } from "../dns/index.ts";
import { attestLoopbackPeer, type Attestor } from "../identity/index.ts";
import type { KernelEnforcement } from "../kernel/enforcer/index.ts";
import type { Logger } from "../log/index.ts";
import type { MetricsRegistry } from "../metrics/index.ts";
import { hostnamesIn } from "../kernel/compile/index.ts";
import type { PolicyEngine } from "../policy/index.ts";
import { discoveryRewriter, startProxy, type Injector, type RunningProxy } from "../proxy/index.ts";
import type { TrustDomainCA } from "../spiffe/index.ts";
import type { Store } from "../store/index.ts";
import { certificatesToPem, toPem } from "../spiffe/workload-api/pem.ts";
import type { Started } from "./identity.ts";

export interface ProxyDeps {
  readonly config: SluiceConfig;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly policy: PolicyEngine;
  readonly ca: TrustDomainCA;
  readonly attestor: Attestor;
  readonly injector: Injector;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  /** The kernel enforcement, once started (undefined before, or when the kernel cannot enforce). */
  readonly kernel: () => KernelEnforcement | undefined;
}

/** An upstream mTLS SVID is minted per workload and reused until half its life is gone. */
const SVID_TTL_SECONDS = 3600;

export async function startProxyPart(deps: ProxyDeps): Promise<Started<RunningProxy>> {
  const { config, store, audit, policy, ca, attestor, logger } = deps;
  const resolver = new HostResolver({ logger: logger.child({ component: "proxy-dns" }) });
  await resolver.ensure(hostnamesIn(policy.current()));
  const unwatch = policy.subscribe((s) => void resolver.ensure(hostnamesIn(s)));
  resolver.start();

  const svids = new Map<string, { pem: { certPem: string; keyPem: string; bundlePem: string }; renewAt: number }>();
  const proxy = await startProxy({
    config,
    store,
    policy,
    logger,
    audit,
    injector: deps.injector,
    rewriters: [discoveryRewriter({ issuer: config.issuer, policy, audit, logger })],
    originalDestination: (peer) => deps.kernel()?.originalDestination({ localPort: peer.port, family: peer.family }),
    workloadSpiffeId: (id) => deps.kernel()?.workloadSpiffeId(id),
    resolver: { cached: (host: string): ResolvedHost => resolver.cached(host) },
    // The explicit proxy has no kernel record: attribute the client through its loopback socket.
    attestExplicitClient: async (client) => {
      const peer = attestLoopbackPeer({ remoteAddress: client.remoteAddress, remotePort: client.remotePort, localAddress: client.localAddress, localPort: client.localPort });
      if (!peer) return undefined;
      try {
        const attestation = await attestor.identify(peer.pid, policy.current());
        const facts = attestation.facts;
        return { pid: peer.pid, uid: peer.uid, gid: facts.gid, cgroupId: 0n, ...(attestation.match.spiffeId ? { workload: attestation.match.spiffeId } : {}), via: "explicit-proxy" as const };
      } catch {
        return undefined;
      }
    },
    svidFor: (workload) => {
      const cached = svids.get(workload);
      if (cached && cached.renewAt > Date.now()) return cached.pem;
      const svid = ca.issueX509Svid({ spiffeId: workload, ttlSeconds: SVID_TTL_SECONDS });
      const pem = {
        certPem: certificatesToPem(svid.certChain),
        keyPem: toPem("PRIVATE KEY", svid.privateKey!),
        bundlePem: certificatesToPem([...ca.bundle().x509Authorities]),
      };
      svids.set(workload, { pem, renewAt: Date.now() + (svid.expiresAt - Date.now()) / 2 });
      return pem;
    },
  });
  deps.metrics.collect(() => proxy.metrics.renderPrometheus());
  return {
    value: proxy,
    async stop() {
      unwatch();
      resolver.stop();
      await proxy.stop();
    },
  };
}
