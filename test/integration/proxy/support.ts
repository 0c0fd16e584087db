/**
 * Shared set-up for the proxy tests: a temp store, a policy built from YAML, a test CA for the
 * upstreams (passed as proxy.upstreamCaFile, with no system roots), and the proxy started with an
 * injected original-destination lookup standing in for the kernel (test/kernel owns the real one).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog } from "../../../src/audit/index.ts";
import { resolveConfig } from "../../../src/config/index.ts";
import type { OriginalDestination } from "../../../src/kernel/original-destination.ts";
import { createLogger } from "../../../src/log/index.ts";
import { buildPolicy, type PolicySnapshot } from "../../../src/policy/index.ts";
import { startProxy, type RunningProxy, type StartProxyOptions } from "../../../src/proxy/index.ts";
import { openStore, type Store } from "../../../src/store/index.ts";
import { createTestCa, type TestCa } from "../../support/test-ca.ts";

export const TD = "proxy.test";
export const AGENT = `spiffe://${TD}/agent`;
export const logger = createLogger({ level: "error", format: "text" });

export function policyFrom(yaml: string): PolicySnapshot {
  const r = buildPolicy([{ path: "/policies/test.yaml", text: yaml }], { trustDomain: TD });
  if (!r.snapshot) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.snapshot;
}

export function agentWorkload(egressLabels = "{app: api}"): string {
  return `apiVersion: sluice/v1alpha1
kind: WorkloadIdentity
metadata: {name: agent}
spec:
  workloadID: agent
  selectors: [{process:uid: [4242]}]
  egress: [{services: ${egressLabels}}]
`;
}

export function serviceDoc(name: string, addresses: readonly string[], tls: string, extra = "", labels = "{app: api}"): string {
  return `---
apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: ${name}}
spec:
  addresses: [${addresses.map((a) => `{address: "${a.slice(0, a.lastIndexOf(":"))}", port: ${a.slice(a.lastIndexOf(":") + 1)}}`).join(", ")}]
  labels: ${labels}
  tls: ${tls}
${extra}`;
}

export interface Harness {
  readonly proxy: RunningProxy;
  readonly store: Store;
  readonly ca: TestCa;
  readonly audit: AuditLog;
  /** Where the next redirected connections "meant" to go (by default every one). */
  destination: Partial<OriginalDestination> & { address: string; port: number };
  /** Set to false to make the kernel lookup find nothing. */
  recorded: boolean;
  snapshot: PolicySnapshot;
  close(): Promise<void>;
}

export async function startHarness(opts: { ca?: TestCa; snapshot: PolicySnapshot; destination: { address: string; port: number }; explicit?: boolean } & Partial<StartProxyOptions>): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-proxy-"));
  const ca = opts.ca ?? createTestCa("upstream test CA");
  const { config } = resolveConfig([{ origin: "file", raw: { dataDir: dir, trustDomain: TD, proxy: { listen: "127.0.0.1:0", explicit: opts.explicit ? "127.0.0.1:0" : null, upstreamCaFile: ca.certFile } } as never }]);
  const store = await openStore({ dataDir: dir, logger });
  const audit = await AuditLog.open(store, { mirrorPath: null, logger });
  const h: Harness = {
    ca,
    store,
    audit,
    destination: opts.destination,
    recorded: true,
    snapshot: opts.snapshot,
    proxy: undefined as never,
    async close() {
      await h.proxy.stop();
      await audit.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
      if (!opts.ca) ca.cleanup();
    },
  };
  const policy = { current: () => h.snapshot };
  (h as { proxy: RunningProxy }).proxy = await startProxy({
    config,
    store,
    policy,
    logger,
    audit,
    systemTrustFiles: [],
    originalDestination: () => (h.recorded ? { pid: 4242, tid: 4242, uid: 4242, gid: 4242, cgroupId: 7n, workload: 1, ruleId: 1, family: 4, v4Mapped: false, ...h.destination } : undefined),
    workloadSpiffeId: (id) => (id === 1 ? AGENT : undefined),
    ...opts,
  });
  return h;
}
