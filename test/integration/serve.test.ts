import { afterAll, describe, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDirs, startServe, type ServeProcess } from "../support/serve-process.ts";
import { runSluice } from "../support/run-sluice.ts";

const WORKLOAD = (port: number) =>
  [
    "apiVersion: sluice/v1alpha1",
    "kind: WorkloadIdentity",
    "metadata: {name: claude}",
    "spec:",
    "  workloadID: claude",
    "  selectors:",
    "    - process:uid: [1000]",
    "  egress:",
    "    - cidr: 10.0.0.0/8",
    `      ports: [${port}]`,
    "",
  ].join("\n");

async function health(s: ServeProcess): Promise<{ status: string; policy: { generation: number; hash: string; lastReloadFailed: boolean } }> {
  const r = await fetch(`${s.url}/healthz`);
  expect(r.status).toBe(200);
  return (await r.json()) as never;
}

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

describe("sluice serve", () => {
  test("runs with an empty policy dir, hot-reloads good and bad edits, stops cleanly, audits all of it", async () => {
    const s = await startServe();
    cleanups.push(() => s.cleanup());
    const first = await health(s);
    expect(first).toMatchObject({ status: "ok", policy: { lastReloadFailed: false } });
    // Prometheus metrics on metrics.listen (an ephemeral loopback port here).
    const serving = await s.waitForLog((l) => l.msg === "sluice serving");
    const metrics = await fetch(String(serving.metrics));
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain; version=0.0.4");

    // A good edit is applied.
    writeFileSync(join(s.policyDir, "claude.yaml"), WORKLOAD(5432));
    const applied = await s.waitForLog((l) => l.msg === "policy applied" && (l.generation as number) > first.policy.generation);
    const second = await health(s);
    expect(second.policy.generation).toBe(applied.generation as number);
    expect(second.policy.hash).not.toBe(first.policy.hash);

    // A bad edit is rejected with file:line:col; the last good policy stays.
    writeFileSync(join(s.policyDir, "claude.yaml"), WORKLOAD(5432).replace("egress:", "egres:"));
    const rejected = await s.waitForLog((l) => l.level === "error" && String(l.msg).includes("claude.yaml:8:3: error: unknown field `egres`"));
    expect(rejected.msg).toContain("did you mean `egress`?");
    await s.waitForLog((l) => l.msg === "policy rejected; the last good policy stays in force");
    const third = await health(s);
    expect(third.policy).toEqual({ generation: second.policy.generation, hash: second.policy.hash, lastReloadFailed: true });

    // An editor's write-to-temp-then-rename is picked up too.
    writeFileSync(join(s.policyDir, ".claude.yaml.tmp"), WORKLOAD(6543));
    renameSync(join(s.policyDir, ".claude.yaml.tmp"), join(s.policyDir, "claude.yaml"));
    await s.waitForLog((l) => l.msg === "policy applied" && (l.generation as number) > second.policy.generation);
    expect((await health(s)).policy.lastReloadFailed).toBe(false);

    expect(await s.stop("SIGTERM")).toBe(0);
    expect(s.logs.some((l) => l.msg === "sluice stopped")).toBe(true);

    const env = { SLUICE_DATA_DIR: s.dataDir };
    const tail = await runSluice(["audit", "tail", "-n", "100", "--json"], { env });
    expect(tail.code).toBe(0);
    const kinds = tail.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { kind: string }).kind);
    expect(kinds).toEqual(["spiffe.x509-authority.create", "spiffe.jwt-authority.create", "serve.start", "policy.apply", "policy.reject", "policy.apply", "serve.stop"]);
    const verify = await runSluice(["audit", "verify"], { env });
    expect(verify.stdout).toContain("audit log intact: 7 records");
    expect(verify.code).toBe(0);
  }, 30_000);

  test("a second sluice on the same data dir is refused, naming the first one's pid", async () => {
    const s = await startServe();
    cleanups.push(() => s.cleanup());
    const dirs = { dir: s.dir, dataDir: s.dataDir, policyDir: s.policyDir };
    const second = await runSluice(["serve"], { env: { SLUICE_DATA_DIR: dirs.dataDir, SLUICE_POLICY_DIR: dirs.policyDir, SLUICE_LISTEN: "127.0.0.1:0", SLUICE_WORKLOAD_SOCKET: join(dirs.dir, "run2", "workload.sock") } });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`data dir ${dirs.dataDir} is in use by another sluice (pid ${s.proc.pid}); stop it first`);
    expect(await s.stop("SIGINT")).toBe(0);
  }, 30_000);

  test("restart with a broken policy dir keeps the last good policy; a fresh data dir refuses to start (exit 3)", async () => {
    const dirs = makeTempDirs();
    writeFileSync(join(dirs.policyDir, "claude.yaml"), WORKLOAD(5432));
    const s = await startServe({ dirs });
    cleanups.push(() => s.cleanup());
    const good = await health(s);
    expect(await s.stop()).toBe(0);

    writeFileSync(join(dirs.policyDir, "claude.yaml"), WORKLOAD(5432).replace("ports: [5432]", "ports: [99999]"));
    const again = await startServe({ dirs });
    expect((await health(again)).policy.hash).toBe(good.policy.hash);
    expect(again.logs.some((l) => l.level === "error" && String(l.msg).includes("claude.yaml:10:15"))).toBe(true);
    expect(await again.stop()).toBe(0);

    const fresh = makeTempDirs();
    cleanups.push(() => require("node:fs").rmSync(fresh.dir, { recursive: true, force: true }));
    writeFileSync(join(fresh.policyDir, "claude.yaml"), WORKLOAD(5432).replace("ports: [5432]", "ports: [99999]"));
    const refused = await runSluice(["serve"], { env: { SLUICE_DATA_DIR: fresh.dataDir, SLUICE_POLICY_DIR: fresh.policyDir, SLUICE_LISTEN: "127.0.0.1:0", SLUICE_WORKLOAD_SOCKET: join(fresh.dir, "run2", "workload.sock") } });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("claude.yaml:10:15: error:");
    expect(refused.stderr).toContain("no last good policy");
  }, 30_000);

  test("a config error exits 1 with the file position, before anything starts", async () => {
    const dirs = makeTempDirs();
    cleanups.push(() => require("node:fs").rmSync(dirs.dir, { recursive: true, force: true }));
    const cfg = join(dirs.dir, "sluice.yaml");
    writeFileSync(cfg, `dataDir: ${dirs.dataDir}\nlisten: 127.0.0.1:0\nproxy:\n  lisen: 127.0.0.1:1\n`);
    const r = await runSluice(["serve", "--config", cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${cfg}:4:3: error: unknown field \`lisen\` in proxy; did you mean \`listen\`?`);
  });
});
