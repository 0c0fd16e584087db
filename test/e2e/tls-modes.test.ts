/**
 * Issue 6, the Service `tls:` modes other than intercept, with a managed workload (`tool`: its own
 * bun copy, uid 65534, in the test cgroup):
 * - `passthrough`: a TLS server on 127.0.0.6 that speaks no HTTP, with a test-CA certificate the
 *   workload trusts directly. sluice does not terminate: the workload verifies the server's own
 *   certificate and the server receives exactly the bytes sent — on the kernel path, and through
 *   the explicit proxy's CONNECT tunnel (relayed untouched by the proxy).
 * - `upgrade` with a SPIFFE ID: the workload speaks plain http to 127.0.0.5; sluice connects with
 *   mTLS using the workload's own X.509-SVID, and verifies the peer's SPIFFE ID. The upstream is a
 *   node:https server requiring client certificates, holding the SVID of workload `spiffe-api`
 *   (fetched from sluice's Workload API with `sluice svid x509`) and trusting `sluice bundle show
 *   --format pem`: it sees `spiffe://sluice.test/tool`. A Service whose expected SPIFFE ID the peer
 *   does not hold answers 502.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startMtlsServer, type MtlsServer } from "../support/mtls-server.ts";
import { REPO } from "../support/serve-process.ts";
import type { TestCa } from "../support/test-ca.ts";
import { startTlsEchoServer, type TlsEchoServer } from "../support/tls-echo-server.ts";
import { Cleanups } from "./support/cleanups.ts";
import { e2eSkipReason, readableTestCa, workDir } from "./support/host.ts";
import { startKernelServe, type KernelServe } from "./support/kernel-serve.ts";
import { egress, policyFile, service, workloadIdentity } from "./support/policy.ts";
import { freePort } from "./support/ports.ts";
import { copyBinary, createTestCgroup, type TestCgroup } from "./support/workloads.ts";

const skip = e2eSkipReason();
if (skip) console.warn(`e2e tls modes skipped: ${skip}`);

const TD = "sluice.test";
const TOOL_UID = 65534;
const UPSTREAM_ID = `spiffe://${TD}/spiffe-api`;

let ca: TestCa;
let echo: TlsEchoServer;
let mtls: MtlsServer;
let sluice: KernelServe;
let work: string;
let cgroup: TestCgroup;
let toolBin: string;
let mtlsPort: number;
let wrongIdPort: number;
const cleanups = new Cleanups();

beforeAll(async () => {
  if (skip) return;
  work = workDir("sluice-e2e-tls-modes", cleanups);
  toolBin = copyBinary(work, "tool-bin");
  // The upstream's own workload: the binary that asks the Workload API for its SVID.
  const upstreamBin = copyBinary(work, "spiffe-api-bin");
  ca = readableTestCa("e2e tls-modes upstream CA", cleanups);
  echo = await startTlsEchoServer({ hostname: "127.0.0.6", tls: ca.leaf(["127.0.0.6"]) });
  cleanups.push(() => echo.stop());
  mtlsPort = freePort("127.0.0.5");
  wrongIdPort = freePort("127.0.0.5");

  cgroup = createTestCgroup("sluice-e2e-tls-modes");
  cleanups.push(() => cgroup.remove());
  sluice = await startKernelServe(
    {
      name: "sluice-e2e-tls-modes",
      trustDomain: TD,
      cgroup: cgroup.path,
      explicitProxy: true,
      policy: () =>
        policyFile(
          workloadIdentity("tool", [toolBin], egress({ apps: ["echo-passthrough", "spiffe-api", "spiffe-wrong-id"] })),
          workloadIdentity("spiffe-api", [upstreamBin], []),
          service("echo-passthrough", { address: "127.0.0.6", port: echo.port, tls: "passthrough" }),
          service("spiffe-api", { address: "127.0.0.5", port: mtlsPort, tls: "upgrade", spiffeID: UPSTREAM_ID }),
          service("spiffe-wrong-id", { address: "127.0.0.5", port: wrongIdPort, tls: "upgrade", spiffeID: `spiffe://${TD}/someone-else` }),
        ),
    },
    cleanups,
  );

  // The upstream gets its X.509-SVID like any workload (attested by the Workload API), and trusts sluice's bundle.
  const svidDir = join(work, "spiffe-api-svid");
  mkdirSync(svidDir, { mode: 0o700 });
  const fetched = Bun.spawnSync([upstreamBin, join(REPO, "src/main.ts"), "svid", "x509", "--write", svidDir, "--socket", join(sluice.serve.dir, "run", "workload.sock"), "--json"], {
    env: { PATH: "/usr/bin:/bin", HOME: work, SLUICE_CONFIG: "none" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (fetched.exitCode !== 0) throw new Error(`sluice svid x509 failed: ${fetched.stderr.toString()}`);
  expect(JSON.parse(fetched.stdout.toString())).toMatchObject({ spiffeId: UPSTREAM_ID });
  const bundle = await sluice.sluice(["bundle", "show", "--format", "pem"]);
  if (bundle.code !== 0) throw new Error(`sluice bundle show failed: ${bundle.stderr}`);
  const svid = { certPem: readFileSync(join(svidDir, "svid.0.pem"), "utf8"), keyPem: readFileSync(join(svidDir, "svid.0.key"), "utf8"), trustedCaPem: bundle.stdout };
  mtls = await startMtlsServer({ hostname: "127.0.0.5", port: mtlsPort, ...svid });
  cleanups.push(() => mtls.stop());
  const wrong = await startMtlsServer({ hostname: "127.0.0.5", port: wrongIdPort, ...svid });
  cleanups.push(() => wrong.stop());
}, 60_000);

afterAll(() => cleanups.run());

type ProbeResult = { reply: string; sent: string; issuer: string; authorized: boolean };

describe.skipIf(Boolean(skip))("tls: passthrough and tls: upgrade (mTLS with a SPIFFE peer check)", () => {
  test("passthrough on the kernel path: the workload verifies the server's own certificate and the bytes arrive untouched", async () => {
    const before = echo.connections;
    const r = await cgroup.run(TOOL_UID, [toolBin, join(REPO, "test/e2e/fixtures/passthrough-probe.ts")], { HOME: work, TARGET: `127.0.0.6:${echo.port}`, CA_FILE: ca.certFile }, work);
    expect(r.code, r.stderr).toBe(0);
    const probe = JSON.parse(r.stdout) as ProbeResult;
    expect(probe.authorized).toBe(true);
    expect(probe.issuer).toBe("e2e tls-modes upstream CA"); // not sluice's host CA: nobody terminated TLS
    expect(probe.reply).toBe(probe.sent);
    expect(echo.connections).toBe(before + 1);
  }, 30_000);

  test("passthrough through the explicit proxy: the CONNECT tunnel relays the TLS bytes untouched", async () => {
    expect(sluice.explicitProxy).toBeDefined();
    const relayedBefore = passthroughConnections(await metricsText());
    // The tool binary outside the cgroup: the kernel leaves it alone, the explicit proxy attributes it.
    const p = Bun.spawn(["setpriv", "--reuid", String(TOOL_UID), "--regid", String(TOOL_UID), "--clear-groups", "--", toolBin, join(REPO, "test/e2e/fixtures/passthrough-probe.ts")], {
      env: { PATH: "/usr/bin:/bin", HOME: work, TARGET: `127.0.0.6:${echo.port}`, CA_FILE: ca.certFile, PROXY: sluice.explicitProxy! },
      stdout: "pipe",
      stderr: "pipe",
      cwd: work,
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(code, err).toBe(0);
    const probe = JSON.parse(out) as ProbeResult;
    expect(probe).toMatchObject({ authorized: true, issuer: "e2e tls-modes upstream CA" });
    expect(probe.reply).toBe(probe.sent);
    expect(passthroughConnections(await metricsText())).toBe(relayedBefore + 1);
  }, 30_000);

  test("upgrade: plain http from the workload, mTLS with its own SVID upstream; the upstream sees its SPIFFE ID; a wrong peer SPIFFE ID → 502", async () => {
    const script = [
      `const ok = await fetch("http://127.0.0.5:${mtlsPort}/whoami");`,
      `const wrong = await fetch("http://127.0.0.5:${wrongIdPort}/whoami");`,
      `console.log(JSON.stringify({ ok: { status: ok.status, body: await ok.json() }, wrong: { status: wrong.status, body: await wrong.text() } }));`,
    ].join("\n");
    const r = await cgroup.run(TOOL_UID, [toolBin, "-e", script], { HOME: work }, work);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: { status: number; body: { peer: string[]; path: string; authorized: boolean } }; wrong: { status: number; body: string } };
    expect(out.ok).toEqual({ status: 200, body: { peer: [`spiffe://${TD}/tool`], path: "/whoami", authorized: true } });
    expect(mtls.peers).toEqual([[`spiffe://${TD}/tool`]]);
    expect(out.wrong.status).toBe(502);
    expect(out.wrong.body).toContain(`presented SPIFFE ID ${UPSTREAM_ID}, expected spiffe://${TD}/someone-else`);
    // …and the refused peer identity is audited, with the workload that was protected from it.
    const records = await sluice.waitForAudit((rs) => rs.some((r) => r.kind === "proxy.upstream.identity"));
    const refused = records.find((r) => r.kind === "proxy.upstream.identity");
    expect(refused).toMatchObject({ decision: "deny", subject: `spiffe://${TD}/tool` });
    expect(String(refused?.details?.reason)).toContain(`presented SPIFFE ID ${UPSTREAM_ID}`);
  }, 30_000);

  test("/metrics: the upgrade Services' requests, with status classes and the latency histogram", async () => {
    const m = await metricsText();
    expect(m).toMatch(/^sluice_proxy_requests_total\{service="spiffe-api",decision="passed"\} 1$/m);
    expect(m).toMatch(/^sluice_proxy_responses_total\{service="spiffe-api",code="2xx"\} 1$/m);
    expect(m).toMatch(/^sluice_proxy_responses_total\{service="spiffe-wrong-id",code="5xx"\} 1$/m);
    expect(m).toMatch(/^sluice_proxy_request_duration_seconds_count\{service="spiffe-api",decision="passed"\} 1$/m);
    expect(m).toMatch(/^sluice_proxy_connections_total\{outcome="upgrade"\} 2$/m);
  }, 30_000);
});

async function metricsText(): Promise<string> {
  return (await fetch(sluice.metricsUrl)).text();
}

function passthroughConnections(metrics: string): number {
  return Number(/^sluice_proxy_connections_total\{outcome="passthrough"\} (\d+)$/m.exec(metrics)?.[1] ?? "0");
}
