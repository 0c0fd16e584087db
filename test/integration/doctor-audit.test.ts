import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDirs, startServe } from "../support/serve-process.ts";
import { runSluice } from "../support/run-sluice.ts";

type DoctorJson = { ok: boolean; checks: { name: string; status: string; message: string; fix?: string }[] };
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

describe("sluice doctor", () => {
  test("fresh host: data dir not created yet, empty policy dir, no sluice running", async () => {
    const dirs = makeTempDirs();
    cleanups.push(() => rmSync(dirs.dir, { recursive: true, force: true }));
    const r = await runSluice(["doctor", "--json"], { env: { SLUICE_DATA_DIR: dirs.dataDir, SLUICE_POLICY_DIR: dirs.policyDir } });
    const out = JSON.parse(r.stdout) as DoctorJson;
    expect(out.checks.map((c) => c.name)).toEqual(["config", "root", "data dir", "policy dir", "capabilities", "BTF", "cgroup v2", "bpffs", "tcx", "interfaces", "kTLS", "libbpf", "cgroup_sock_addr", "sock_ops", "cgroup_sock", "sched_cls", "xdp", "tp_btf"]);
    expect(out.checks.find((c) => c.name === "data dir")).toMatchObject({ status: "ok", message: `${dirs.dataDir} does not exist yet; sluice serve creates it (mode 0700)` });
    expect(out.checks.find((c) => c.name === "policy dir")?.status).toBe("ok");
    expect(r.code).toBe(out.ok ? 0 : 1);
  });

  test("names the running sluice, then fails on a master key readable by others", async () => {
    const s = await startServe();
    cleanups.push(() => s.cleanup());
    const env = { SLUICE_DATA_DIR: s.dataDir, SLUICE_POLICY_DIR: s.policyDir };
    const running = JSON.parse((await runSluice(["doctor", "--json"], { env })).stdout) as DoctorJson;
    expect(running.checks.find((c) => c.name === "data dir")?.message).toContain(`in use by sluice serve (pid ${s.proc.pid})`);
    expect(await s.stop()).toBe(0);

    chmodSync(join(s.dataDir, "master.key"), 0o644);
    const r = await runSluice(["doctor"], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^FAIL  data dir +${join(s.dataDir, "master.key")} has mode 644; sluice refuses to start$`, "m"));
    expect(r.stdout).toContain(`→ chmod 600 ${join(s.dataDir, "master.key")}`);
  }, 30_000);

  test("an invalid policy dir fails with the first errors and the command to see them all", async () => {
    const dirs = makeTempDirs();
    cleanups.push(() => rmSync(dirs.dir, { recursive: true, force: true }));
    writeFileSync(join(dirs.policyDir, "x.yaml"), "apiVersion: sluice/v1alpha1\nkind: Nope\nmetadata: {name: a}\n");
    const r = await runSluice(["doctor", "--json"], { env: { SLUICE_DATA_DIR: dirs.dataDir, SLUICE_POLICY_DIR: dirs.policyDir } });
    const check = (JSON.parse(r.stdout) as DoctorJson).checks.find((c) => c.name === "policy dir")!;
    expect(check.status).toBe("fail");
    expect(check.message).toContain(`${join(dirs.policyDir, "x.yaml")}:2:7: error:`);
    expect(check.fix).toBe(`sluice policy check ${dirs.policyDir}`);
    expect(r.code).toBe(1);
  });
});

describe("sluice audit tail -f", () => {
  test("follows records appended by a running sluice serve, from another process", async () => {
    const s = await startServe();
    cleanups.push(() => s.cleanup());
    // -n 1: tail prints serve.start first, which tells us it is following before the event happens.
    const tail = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/main.ts"), "audit", "tail", "-f", "--json", "-n", "1"], {
      env: { PATH: process.env.PATH ?? "/usr/bin", SLUICE_CONFIG: "none", SLUICE_DATA_DIR: s.dataDir },
      stdout: "pipe",
      stderr: "pipe",
    });
    cleanups.push(() => tail.kill("SIGKILL"));
    const reader = tail.stdout.getReader();
    let text = "";
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 15_000;
      while (!text.includes(needle) && Date.now() < deadline) {
        const { value, done } = await Promise.race([reader.read(), Bun.sleep(15_000).then(() => ({ value: undefined, done: true }))]);
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil('"serve.start"');
    expect(text).toContain('"serve.start"');
    writeFileSync(join(s.policyDir, "host.yaml"), "apiVersion: sluice/v1alpha1\nkind: HostPolicy\nmetadata: {name: host}\nspec:\n  unmanaged: audit\n");
    await readUntil('"policy.apply"');
    const record = text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { kind: string; hash: string; prev: string }).find((r) => r.kind === "policy.apply");
    expect(record).toBeDefined();
    expect(record!.hash).toMatch(/^[0-9a-f]{64}$/);
    tail.kill("SIGINT");
    expect(await tail.exited).toBe(0);
    expect(await s.stop()).toBe(0);
  }, 30_000);
});
