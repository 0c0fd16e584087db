/**
 * bench/proxy.ts's sluice: startProxy with a one-Service policy (tls: intercept), an injector
 * that swaps the Authorization header, and the kernel lookup injected (every connection "meant"
 * the upstream). Args: dataDir upstreamPort upstreamCaFile. Prints {port, caPem} then serves.
 */
import { resolveConfig } from "../src/config/index.ts";
import { createLogger } from "../src/log/index.ts";
import { buildPolicy } from "../src/policy/index.ts";
import { startProxy } from "../src/proxy/index.ts";
import { openStore } from "../src/store/index.ts";

const [dataDir, upPortText, caFile] = process.argv.slice(2) as [string, string, string];
const upPort = Number(upPortText);
const logger = createLogger({ level: "error", format: "text" });
const { config } = resolveConfig([{ origin: "file", raw: { dataDir, trustDomain: "bench.test", proxy: { listen: "127.0.0.1:0", upstreamCaFile: caFile } } as never }]);
const policyText = `apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: api}
spec:
  addresses: [{address: 127.0.0.1, port: ${upPort}}]
  labels: {app: api}
  tls: intercept
`;
const built = buildPolicy([{ path: "bench.yaml", text: policyText }], { trustDomain: "bench.test" });
if (!built.snapshot) throw new Error("bench policy invalid");
const snapshot = built.snapshot;
const store = await openStore({ dataDir, logger });
const proxy = await startProxy({
  config,
  store,
  policy: { current: () => snapshot },
  logger,
  audit: { append: () => undefined },
  systemTrustFiles: [],
  injector: { decide: () => ({ kind: "forward", setHeaders: [["Authorization", "Bearer upstream-secret"]], label: "injected" }) },
  originalDestination: () => ({ address: "127.0.0.1", port: upPort, pid: 1, tid: 1, uid: 0, gid: 0, cgroupId: 1n, workload: 1, ruleId: 1, family: 4, v4Mapped: false }),
  workloadSpiffeId: () => "spiffe://bench.test/agent",
});
console.log(JSON.stringify({ port: proxy.listening.v4!.port, caPem: proxy.hostCa.certPem }));
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    void proxy.stop().finally(() => process.exit(0));
  });
process.on("SIGUSR1", () => console.error(`connections accepted: ${proxy.metrics.connections("intercept")}, requests: ${proxy.metrics.requests("api", "injected")}`));
