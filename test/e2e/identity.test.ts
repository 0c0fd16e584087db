/**
 * Issue 3 end to end, all real parts: `sluice serve` (its own CA in LMDB, the attestor, the
 * Workload API) and agents as separate processes under another uid, fetching their SVIDs with
 * `sluice svid`, verified against the bundle served at /.well-known/spiffe-bundle.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBundle, verifyJwtSvid, verifyX509Svid, BundleSet } from "../../src/spiffe/index.ts";
import { makeTempDirs, REPO, startServe, type ServeProcess } from "../support/serve-process.ts";
import { runSluice } from "../support/run-sluice.ts";

const NOBODY = 65534;
let serve: ServeProcess;
let socket: string;

function policy(uid: number): string {
  return [
    "apiVersion: sluice/v1alpha1",
    "kind: WorkloadIdentity",
    "metadata: {name: agent}",
    "spec:",
    "  workloadID: agents/agent",
    "  selectors:",
    `    - process:uid: [${uid}]`,
    "  svid: {x509TTL: 10m, jwtTTL: 2m}",
    "",
  ].join("\n");
}

/** `sluice svid …` from source, as `uid`, with SPIFFE_ENDPOINT_SOCKET like an agent would have it. */
async function svidAs(uid: number, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = uid === 0 ? [process.execPath, join(REPO, "src/main.ts"), "svid", ...args] : ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", process.execPath, join(REPO, "src/main.ts"), "svid", ...args];
  const proc = Bun.spawn(cmd, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", TMPDIR: "/tmp", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", SPIFFE_ENDPOINT_SOCKET: `unix://${socket}` },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

async function servedBundles(): Promise<BundleSet> {
  const res = await fetch(`${serve.url}/.well-known/spiffe-bundle`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("application/json");
  const set = new BundleSet();
  set.set(parseBundle(await res.text(), "sluice.local"));
  return set;
}

beforeAll(async () => {
  const dirs = makeTempDirs();
  chmodSync(dirs.dir, 0o755); // the agent (uid 65534) must reach the socket below it
  writeFileSync(join(dirs.policyDir, "agent.yaml"), policy(NOBODY));
  serve = await startServe({ dirs });
  socket = join(dirs.dir, "run", "workload.sock");
  expect(statSync(socket).mode & 0o777).toBe(0o666);
}, 30_000);
afterAll(() => serve?.cleanup());

describe("SPIFFE identity end to end", () => {
  test("an agent under uid 65534 gets its X.509-SVID, which verifies against the served bundle", async () => {
    const out = mkdtempSync(join(tmpdir(), "sluice-svid-"));
    chmodSync(out, 0o777);
    try {
      const r = await svidAs(NOBODY, ["x509", "--write", out, "--json"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ spiffeId: "spiffe://sluice.local/agents/agent" });
      expect(statSync(join(out, "svid.0.key")).mode & 0o777).toBe(0o600);
      const chain = readFileSync(join(out, "svid.0.pem"), "utf8")
        .split(/(?=-----BEGIN CERTIFICATE-----)/)
        .filter((p) => p.includes("BEGIN"))
        .map((pem) => new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64")));
      const verified = verifyX509Svid(chain, await servedBundles());
      expect(verified.spiffeId).toBe("spiffe://sluice.local/agents/agent");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 30_000);

  test("its JWT-SVID verifies for its audience only", async () => {
    const r = await svidAs(NOBODY, ["jwt", "--audience", "https://api.example.com"]);
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    const bundles = await servedBundles();
    const ok = verifyJwtSvid(token, bundles, { audience: "https://api.example.com" });
    expect(ok.spiffeId).toBe("spiffe://sluice.local/agents/agent");
    expect(ok.expiresAt - (ok.issuedAt ?? 0)).toBe(120_000);
    let error: unknown;
    try {
      verifyJwtSvid(token, bundles, { audience: "https://other.example.com" });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "ERR_JWT_SVID_INVALID", rule: "aud-mismatch" });
  }, 30_000);

  test("a process that matches no WorkloadIdentity is refused, and the refusal is audited", async () => {
    const r = await svidAs(0, ["x509"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("matches no WorkloadIdentity");
    await serve.waitForLog(() => true); // the server is alive
    const audit = readFileSync(join(serve.dataDir, "audit.jsonl"), "utf8");
    expect(audit).toContain('"kind":"workload_api.deny"');
    expect(audit).toContain('"kind":"svid.x509.issue"');
    expect(audit).not.toContain("PRIVATE KEY");
  }, 30_000);

  test("sluice bundle show prints what /.well-known/spiffe-bundle serves, from a read-only store", async () => {
    const env = { SLUICE_DATA_DIR: serve.dataDir };
    const spiffe = await runSluice(["bundle", "show", "--format", "spiffe"], { env });
    expect(spiffe.code).toBe(0);
    const served = await (await fetch(`${serve.url}/.well-known/spiffe-bundle`)).json();
    expect(JSON.parse(spiffe.stdout)).toEqual(served);
    const text = await runSluice(["bundle", "show"], { env });
    expect(text.stdout).toStartWith("trust domain sluice.local, sequence ");
    expect(text.stdout).toMatch(/^x509 {2}[0-9a-f]{16} /m);
    expect(text.stdout).toMatch(/^jwt {3}kid \S+ {2}EC P-256$/m);
    const pem = await runSluice(["bundle", "show", "--format", "pem"], { env });
    expect(pem.stdout).toStartWith("-----BEGIN CERTIFICATE-----");
  }, 30_000);

  test("a policy edit that drops the identity ends access at once", async () => {
    writeFileSync(join(serve.policyDir, "agent.yaml"), policy(4242));
    await serve.waitForLog((l) => l.msg === "policy applied" && (l.generation as number) >= 2);
    const r = await svidAs(NOBODY, ["x509"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("matches no WorkloadIdentity");
  }, 30_000);
});
