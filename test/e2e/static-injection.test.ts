/**
 * Issue 6, credentials for a workload that holds no key (DESIGN §2, "Other credential paths"):
 * a plain HTTPS API on 127.0.0.4 is a Service (`tls: intercept`) with a `static` CredentialSource
 * (a 0600 root-owned key file → `X-Api-Key`) bound to workload `tool` without a human.
 * - A managed `tool` process (its own bun copy, uid 65534, in the test cgroup) calls the API and
 *   the API sees the key, although the process cannot read the key file and the key is nowhere in
 *   its environment or files; a header it sets itself is overwritten.
 * - The explicit proxy (`proxy.explicit`): curl (a copy selected as `tool`, outside the cgroup, so
 *   the kernel leaves it alone) with HTTPS_PROXY reaches the API through CONNECT, attributed by
 *   loopback attestation, and gets the key injected; a CONNECT to a non-Service gets 403.
 * - Audit and metrics: one record per injected or refused request (workload, service, decision),
 *   never the key; /metrics counts the requests with a latency histogram.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startRecordingHttpsServer, type RecordingHttpsServer } from "../support/recording-https-server.ts";
import { Cleanups } from "./support/cleanups.ts";
import { e2eSkipReason, readableTestCa, workDir } from "./support/host.ts";
import { startKernelServe, type KernelServe } from "./support/kernel-serve.ts";
import { credentialBinding, credentialSource, egress, policyFile, service, workloadIdentity } from "./support/policy.ts";
import { copyBinary, createTestCgroup, type TestCgroup } from "./support/workloads.ts";

const skip = e2eSkipReason({ tools: ["curl"] });
if (skip) console.warn(`e2e static injection skipped: ${skip}`);

const TD = "sluice.test";
const TOOL_UID = 65534;
const API_KEY = `sk-e2e-${randomBytes(18).toString("hex")}`;

let api: RecordingHttpsServer;
let sluice: KernelServe;
let work: string;
let cgroup: TestCgroup;
let toolBin: string;
let toolCurl: string;
let toolHome: string;
let keyFile: string;
const cleanups = new Cleanups();

beforeAll(async () => {
  if (skip) return;
  work = workDir("sluice-e2e-static", cleanups);
  toolBin = copyBinary(work, "tool-bin");
  toolCurl = copyBinary(work, "tool-curl", Bun.which("curl")!);
  const ca = readableTestCa("e2e static upstream CA", cleanups);
  api = startRecordingHttpsServer({ hostname: "127.0.0.4", tls: ca.leaf(["127.0.0.4"]) });
  cleanups.push(() => api.stop());

  // The key lives in a root-only file that only sluice reads.
  const secrets = join(work, "secrets");
  mkdirSync(secrets, { mode: 0o700 });
  keyFile = join(secrets, "tool-api-key");
  writeFileSync(keyFile, `${API_KEY}\n`, { mode: 0o600 });

  cgroup = createTestCgroup("sluice-e2e-static");
  cleanups.push(() => cgroup.remove());
  sluice = await startKernelServe(
    {
      name: "sluice-e2e-static",
      trustDomain: TD,
      cgroup: cgroup.path,
      upstreamCaFile: ca.certFile,
      explicitProxy: true,
      policy: () =>
        policyFile(
          workloadIdentity("tool", [toolBin, toolCurl], egress({ apps: ["tool-api"] })),
          service("tool-api", { address: "127.0.0.4", port: api.port, tls: "intercept" }),
          credentialSource("tool-api-key", ["static:", `  valueFrom: {file: ${keyFile}}`, "  header: X-Api-Key", '  format: "{value}"']),
          credentialBinding("tool-api-key", { source: "tool-api-key", workloadID: "tool", app: "tool-api" }),
        ),
    },
    cleanups,
  );
  toolHome = join(work, "tool-home");
  mkdirSync(toolHome);
  writeFileSync(join(toolHome, "host-ca.pem"), await sluice.hostCaPem());
  chownSync(toolHome, TOOL_UID, TOOL_UID);
}, 60_000);

afterAll(() => cleanups.run());

/** Every file under `dir` that contains `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map((f) => join(dir, f)).filter((p) => statSync(p).isFile() && readFileSync(p).includes(needle));
}

describe.skipIf(Boolean(skip))("static secret injection for a workload that holds no key", () => {
  test("a managed process without the key calls the API; the API sees the key; the process's environment and files never hold it", async () => {
    const script = [
      `const r = await fetch(${JSON.stringify(`${api.url}/v1/things`)}, { headers: { "x-api-key": "agent-supplied" } });`,
      `let keyFile = "readable";`,
      `try { require("node:fs").readFileSync(process.env.KEY_FILE); } catch (e) { keyFile = e.code; }`,
      `console.log(JSON.stringify({ status: r.status, body: await r.text(), keyFile }));`,
      // Stay alive until the test has looked at /proc/PID/environ.
      `for await (const _ of Bun.stdin.stream()) {}`,
    ].join("\n");
    const before = api.requests.length;
    const tool = cgroup.spawn(TOOL_UID, [toolBin, "-e", script], { HOME: toolHome, NODE_EXTRA_CA_CERTS: join(toolHome, "host-ca.pem"), KEY_FILE: keyFile }, work);
    const stderr = new Response(tool.stderr).text();
    const stdout = tool.stdout.getReader();
    // The first line (the process then waits on stdin so /proc/PID/environ can be read).
    let first = "";
    while (!first.includes("\n")) {
      const chunk = await stdout.read();
      if (chunk.done) throw new Error(`the tool exited (${await tool.exited}) before answering; stderr:\n${await stderr}`);
      first += new TextDecoder().decode(chunk.value);
    }
    const result = JSON.parse(first.split("\n")[0]!) as { status: number; body: string; keyFile: string };
    expect(result).toEqual({ status: 200, body: "ok\n", keyFile: "EACCES" });

    // The API got the key from sluice, replacing what the process sent.
    expect(api.requests.length).toBe(before + 1);
    expect(api.requests.at(-1)).toMatchObject({ method: "GET", path: "/v1/things", headers: { "x-api-key": API_KEY } });

    // The running process never held it: not in its environment, command line, home or working files.
    expect(readFileSync(`/proc/${tool.pid}/environ`).includes(API_KEY)).toBe(false);
    expect(readFileSync(`/proc/${tool.pid}/cmdline`).includes(API_KEY)).toBe(false);
    expect(filesContaining(toolHome, API_KEY)).toEqual([]);
    tool.stdin.end();
    expect(await tool.exited).toBe(0);
  }, 30_000);

  test("explicit proxy: curl with HTTPS_PROXY (outside the kernel's cgroup) is attributed by loopback attestation and gets the key; a non-Service CONNECT gets 403", async () => {
    expect(sluice.explicitProxy).toBeDefined();
    const before = api.requests.length;
    const curl = (url: string) =>
      Bun.spawn(["setpriv", "--reuid", String(TOOL_UID), "--regid", String(TOOL_UID), "--clear-groups", "--", toolCurl, "-sS", "--cacert", join(toolHome, "host-ca.pem"), "-w", "\n%{http_connect} %{http_code}", url], {
        env: { PATH: "/usr/bin:/bin", HOME: toolHome, HTTPS_PROXY: `http://${sluice.explicitProxy}` },
        stdout: "pipe",
        stderr: "pipe",
        cwd: work,
      });
    const ok = curl(`${api.url}/v1/explicit`);
    const [out, err] = await Promise.all([new Response(ok.stdout).text(), new Response(ok.stderr).text(), ok.exited]);
    expect(out, err).toBe("ok\n\n200 200");
    expect(api.requests.length).toBe(before + 1);
    expect(api.requests.at(-1)).toMatchObject({ path: "/v1/explicit", headers: { "x-api-key": API_KEY } });

    const refused = curl("https://127.0.0.9:9/");
    const [out2, err2, code2] = await Promise.all([new Response(refused.stdout).text(), new Response(refused.stderr).text(), refused.exited]);
    expect(code2).not.toBe(0);
    expect(out2.trim(), err2).toStartWith("403");
    expect(api.requests.length).toBe(before + 1);
  }, 30_000);

  test("audit: one record per injected and refused request, with workload, service and decision, never the key; /metrics counts them", async () => {
    const metrics = await (await fetch(sluice.metricsUrl)).text();
    const injected = Number(/^sluice_proxy_requests_total\{service="tool-api",decision="injected"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(injected).toBe(2);
    expect(Number(/^sluice_proxy_request_duration_seconds_count\{service="tool-api",decision="injected"\} (\d+)$/m.exec(metrics)?.[1])).toBe(2);
    expect(metrics).toMatch(/^sluice_proxy_request_duration_seconds_bucket\{service="tool-api",decision="injected",le="0.1"\} \d+$/m);
    expect(metrics).toMatch(/^sluice_proxy_connections_total\{outcome="refused"\} [1-9]\d*$/m);

    const records = await sluice.waitForAudit((rs) => rs.filter((r) => r.kind === "broker.inject").length >= 2 && rs.some((r) => r.kind === "proxy.connection"));
    const injects = records.filter((r) => r.kind === "broker.inject");
    expect(injects).toHaveLength(2);
    for (const r of injects) {
      expect(r).toMatchObject({ decision: "allow", subject: `spiffe://${TD}/tool`, uid: TOOL_UID, details: { user: null, service: "tool-api", source: "tool-api-key", sourceType: "static", header: "X-Api-Key" } });
    }
    const refused = records.filter((r) => r.kind === "proxy.connection" && r.decision === "deny");
    expect(refused).toHaveLength(1);
    expect(refused[0]!.details).toMatchObject({ destination: "127.0.0.9:9", workload: `spiffe://${TD}/tool`, reason: "CONNECT target is not a Service" });

    expect(JSON.stringify(records).includes(API_KEY)).toBe(false);
    expect(readFileSync(join(sluice.dataDir, "audit.jsonl"), "utf8").includes(API_KEY)).toBe(false);
    expect(JSON.stringify(sluice.serve.logs).includes(API_KEY)).toBe(false);
  }, 30_000);
});
