/**
 * The compiled binary attaches and enforces from an empty directory (issue 4): build.ts compiles
 * a `dist`-like binary into a temp dir, it is copied alone into an empty directory and started as
 * `sluice serve` with kernel enforcement on a cgroup and pin dir of the test's own. Real python
 * processes in that cgroup: the managed agent (a copy of python selected by path) is denied with
 * EPERM where its policy does not allow, connects where it does; an unmanaged one is untouched.
 * Then the same with node_modules, vendor/ and .cache hidden under tmpfs mounts in a private mount
 * namespace: the binary must carry libbpf (memfd) and sluice.bpf.o itself. `sluice doctor` from
 * the binary says so too. Each run ends with the binary's own `kernel detach --yes`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cgroupV2Root, detachAll, ensureBpffs } from "../../src/kernel/index.ts";
import { REPO, makeTempDirs, startServe, type ServeProcess } from "../support/serve-process.ts";
import { runSluice } from "../support/run-sluice.ts";
import { buildBinary } from "../support/build-binary.ts";
import { agentPolicy, connectScript, kernelSkipReason, realPython, removeCgroup, runInCgroup } from "./support/agent-cgroup.ts";

const HIDDEN = ["node_modules", "vendor", ".cache"].map((d) => join(REPO, d));

const skip = kernelSkipReason() || (Bun.which("unshare") ? "" : "unshare (util-linux) is not installed");
if (skip) console.warn(`binary kernel enforcement tests skipped: ${skip}`);

const id = `${process.pid}-${Date.now() % 100000}`;
const work = mkdtempSync(join(tmpdir(), "sluice-binary-kernel-"));
const empty = join(work, "empty");
const binary = join(empty, "sluice");
/** `<binary> ARGS` in a private mount namespace where node_modules, vendor/ and .cache are empty tmpfs. */
const hiddenBinary = join(work, "sluice-hidden-checkout");
const cgroup = join(skip ? "/nonexistent" : cgroupV2Root(), `sluice-test-${id}`);
const pinDir = `/sys/fs/bpf/sluice-test-${id}`;
const env = { SLUICE_KERNEL_ENABLED: "true", SLUICE_KERNEL_CGROUP: cgroup, SLUICE_KERNEL_PIN_DIR: pinDir };
const python = skip ? "/usr/bin/python3" : realPython();
const agent = join(work, "bin", "agent-python");
const listeners: { stop(): void; port: number }[] = [];
const serves: ServeProcess[] = [];

const policy = (allowedPort: number) => agentPolicy(agent, allowedPort);
const inCgroup = (exe: string, port: number) => runInCgroup(cgroup, exe, connectScript("127.0.0.1", port));

beforeAll(async () => {
  if (skip) return;
  const built = join(work, "build", "sluice");
  await buildBinary(built);
  mkdirSync(empty);
  copyFileSync(built, binary);
  rmSync(join(work, "build"), { recursive: true });

  // The wrapper proves the hidden paths are really empty before it execs the binary (exit 3 if not).
  const mounts = HIDDEN.map((d) => `mount -t tmpfs none ${JSON.stringify(d)}`).join(" && ");
  const gone = [join(REPO, "vendor/libbpf/libsluice-bpf.so"), join(REPO, ".cache/bpf/sluice.bpf.o"), join(REPO, "node_modules/lmdb")].map((f) => `test ! -e ${JSON.stringify(f)}`).join(" && ");
  const inner = `${mounts} && { ${gone} || exit 3; } && exec "$0" "$@"`;
  writeFileSync(hiddenBinary, `#!/bin/sh\nexec unshare --mount --propagation private /bin/sh -c '${inner}' ${JSON.stringify(binary)} "$@"\n`);
  chmodSync(hiddenBinary, 0o755);

  ensureBpffs(); // in the host's namespace: pins made from the private one must outlive it
  mkdirSync(cgroup);
  mkdirSync(join(work, "bin"));
  copyFileSync(python, agent);
  chmodSync(agent, 0o755);
  for (const _ of [0, 1]) listeners.push(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, open() {} } }));
}, 240_000);

afterAll(async () => {
  for (const s of serves) s.cleanup();
  if (!skip) {
    detachAll(pinDir);
    for (const l of listeners) l.stop();
    await removeCgroup(cgroup);
  }
  rmSync(work, { recursive: true, force: true });
});

/** serve from `exe` → "kernel policy applied" → verdicts → stop → the binary's own detach. */
async function enforcesFrom(exe: string): Promise<ServeProcess> {
  const [allowed, other] = listeners.map((l) => l.port) as [number, number];
  const dirs = makeTempDirs("sluice-binary-kernel-serve-");
  writeFileSync(join(dirs.policyDir, "agent.yaml"), policy(allowed));
  const s = await startServe({ binary: exe, dirs, env });
  serves.push(s);
  const applied = await s.waitForLog((l) => l.msg === "kernel policy applied", 20_000);
  expect(applied.kernelGeneration).toBeGreaterThan(0);
  expect(s.logs.some((l) => l.msg === "kernel enforcement attached")).toBe(true);
  expect(s.logs.filter((l) => l.level === "error")).toEqual([]);

  expect(await inCgroup(agent, other)).toBe("EPERM");
  expect(await inCgroup(agent, allowed)).toBe("ok");
  expect(await inCgroup(python, other)).toBe("ok"); // unmanaged: untouched

  expect(await s.stop()).toBe(0);
  expect(await inCgroup(agent, other)).toBe("EPERM"); // pinned: holds while sluice is down
  const detach = await runSluice(["kernel", "detach", "--yes"], { binary, cwd: empty, env });
  expect(detach.stdout).toContain("detached: removed");
  expect(await inCgroup(agent, other)).toBe("ok");
  return s;
}

interface DoctorJson {
  checks: { name: string; status: string; message: string }[];
}

async function doctorKernelLines(exe: string): Promise<Record<string, { status: string; message: string }>> {
  const r = await runSluice(["doctor", "--json"], { binary: exe, cwd: empty, env: { SLUICE_DATA_DIR: join(work, "doctor-data"), SLUICE_POLICY_DIR: join(work, "doctor-policies") } });
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout) as DoctorJson;
  return Object.fromEntries(out.checks.filter((c) => ["libbpf", "cgroup_sock_addr", "sock_ops", "cgroup_sock", "sched_cls", "xdp", "tp_btf"].includes(c.name)).map((c) => [c.name, { status: c.status, message: c.message }]));
}

describe.skipIf(skip !== "")("the compiled binary, alone in an empty directory, enforces in the kernel", () => {
  test("serve attaches from the binary: the managed agent gets EPERM where its policy denies and connects where it allows", async () => {
    await enforcesFrom(binary);
  }, 60_000);

  test("doctor from the binary: libbpf from a memfd, and every program type passes the verifier", async () => {
    const lines = await doctorKernelLines(binary);
    expect(lines.libbpf).toEqual({ status: "ok", message: expect.stringContaining("loaded from a memfd inside this binary") });
    expect(lines.cgroup_sock_addr?.status).toBe("ok");
    expect(lines.sock_ops?.status).toBe("ok");
    expect(lines.tp_btf?.status).toBe("ok");
    for (const name of ["cgroup_sock", "sched_cls", "xdp"]) expect(lines[name]?.status).toBe("ok");
  }, 30_000);

  test("with node_modules, vendor/ and .cache hidden (tmpfs, private mount namespace) it still attaches and enforces", async () => {
    await enforcesFrom(hiddenBinary);
    const lines = await doctorKernelLines(hiddenBinary);
    expect(Object.keys(lines).sort()).toEqual(["cgroup_sock", "cgroup_sock_addr", "libbpf", "sched_cls", "sock_ops", "tp_btf", "xdp"]);
    expect(Object.values(lines).every((l) => l.status === "ok")).toBe(true);
    expect(lines.libbpf?.message).toContain("memfd");
  }, 60_000);
});
