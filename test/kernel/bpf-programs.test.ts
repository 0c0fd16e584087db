/**
 * Program-level tests of sluice.bpf.o, as root, with bpftool as the loader (independent of
 * src/kernel/libbpf): build → load and pin in a private bpffs dir → fill one generation compiled
 * from a real policy → attach the tracepoints (raw bpf()) and the cgroup hooks (bpftool) to a fresh
 * cgroup v2 child → run real processes in it. Everything created is removed afterwards.
 * SLUICE_BPF_OBJECT=path uses a prebuilt object instead of building (for a guest with a read-only
 * root, e.g. the stock Debian 6.1 kernel under qemu).
 */
import { statExe } from "../../src/kernel/compile/stat-exe.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileKernelPolicy, InMemoryWorkloadIds, type KernelPolicy } from "../../src/kernel/compile/index.ts";
import { EVENT_TYPES, HOOKS, LIMITS, PROC_FLAGS, VERDICTS, sluiceEvent, toKernelDev, type SluiceEvent } from "../../src/kernel/layout.ts";
import { findCgroupV2Mount } from "../../src/identity/index.ts";
import { buildPolicy } from "../../src/policy/index.ts";
import { produceBpfObjects } from "../../scripts/build-bpf.ts";
import { attachTracing, closeFd, RingbufTap } from "./support/bpf-sys.ts";
import { bpftool, bpftoolPath, counters, flip, loadAll, procsTgids, writeGeneration } from "./support/bpftool.ts";
import { makeCgroup, probe, PROBE_PY, removeCgroup, runInCgroup, type Attempt } from "./support/cgroup-run.ts";

const HOOK_TYPES = ["connect4", "connect6", "sendmsg4", "sendmsg6"] as const;
const TD = "sluice.test";

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root";
  if (!existsSync("/sys/kernel/btf/vmlinux")) return "kernel has no BTF (/sys/kernel/btf/vmlinux)";
  if (!bpftoolPath()) return "bpftool not found (apt-get install bpftool)";
  if (!Bun.which("clang")) return "clang not found (apt-get install clang llvm libbpf-dev)";
  if (!findCgroupV2Mount()) return "no cgroup v2 mount";
  if (!Bun.which("python3")) return "python3 not found";
  if (!Bun.which("curl")) return "curl not found (apt-get install curl)";
  if (!existsSync("/usr/bin/python3")) return "/usr/bin/python3 not found (the uid tests run it as other users)";
  return undefined;
}
const reason = skipReason();
if (reason) console.error(`test/kernel/bpf-programs.test.ts: skipped: ${reason}`);

function realPython(): string {
  const r = Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"], { stdout: "pipe" });
  return r.stdout.toString().trim();
}

function policy(text: string) {
  const r = buildPolicy([{ path: "test.yaml", text }], { trustDomain: TD });
  if (!r.snapshot) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.snapshot;
}

const wi = (name: string, path: string, enforcement: string, egress: string) =>
  `apiVersion: sluice/v1alpha1\nkind: WorkloadIdentity\nmetadata: {name: ${name}}\nspec:\n  workloadID: ${name}\n  selectors: [{process:binary:path: ${path}}]\n  enforcement: ${enforcement}\n  egress:\n${egress}`;
const host = (spec: string) => `apiVersion: sluice/v1alpha1\nkind: HostPolicy\nmetadata: {name: host}\nspec:\n${spec}`;

describe.skipIf(reason !== undefined)("sluice.bpf.o in a real cgroup", () => {
  const links: number[] = [];
  const servers: Array<ReturnType<typeof Bun.serve>> = [];
  let pinDir = "";
  let maps = "";
  let progs = "";
  let cg = "";
  let tmp = "";
  let agent = "";
  let auditor = "";
  let fetchScript = "";
  let python = "";
  let portA = 0;
  let portB = 0;
  let port6 = 0;
  let ring: RingbufTap | undefined;
  let mountedBpffs = false;
  const ids = new InMemoryWorkloadIds();
  const events: SluiceEvent[] = [];
  const compile = (text: string): KernelPolicy => compileKernelPolicy(policy(text), { ids, resolve: () => undefined, statExe });
  const pull = () => {
    for (const rec of ring!.drain()) events.push(sluiceEvent.decode(rec));
    return events;
  };

  beforeAll(() => {
    // SLUICE_BPF_OBJECT: a prebuilt object (e.g. inside a qemu guest whose root is read-only).
    const obj = process.env.SLUICE_BPF_OBJECT ?? produceBpfObjects()[0];
    if (!readFileSync("/proc/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === "/sys/fs/bpf" && l.split(" ")[2] === "bpf")) {
      mkdirSync("/sys/fs/bpf", { recursive: true });
      const m = Bun.spawnSync(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"]);
      if (m.exitCode !== 0) throw new Error(`mount -t bpf bpf /sys/fs/bpf failed: ${m.stderr.toString()}`);
      mountedBpffs = true;
    }
    pinDir = `/sys/fs/bpf/sluice-test-${process.pid}`;
    mkdirSync(pinDir);
    ({ progs, maps } = loadAll(obj!, pinDir));
    ring = new RingbufTap(join(maps, "events"), LIMITS.EVENTS_BYTES);
    for (const p of ["sluice_on_fork", "sluice_on_exec", "sluice_on_exit"]) links.push(attachTracing(join(progs, p)));

    tmp = mkdtempSync(join(tmpdir(), "sluice-bpf-"));
    agent = join(tmp, "agent-sh");
    auditor = join(tmp, "audit-sh");
    for (const p of [agent, auditor]) {
      copyFileSync("/bin/dash", p);
      chmodSync(p, 0o755);
    }
    fetchScript = join(tmp, "fetch.sh");
    writeFileSync(fetchScript, '#!/bin/sh\ncurl -s -o /dev/null --max-time 3 "$1"\necho "curl=$?"\n');
    python = realPython();

    const serve = (hostname: string) => {
      const s = Bun.serve({ hostname, port: 0, fetch: () => new Response("ok") });
      servers.push(s);
      return s.port!;
    };
    portA = serve("127.0.0.1");
    portB = serve("127.0.0.1");
    port6 = serve("::1");

    const k = compile(
      [
        host("  unmanaged: allow\n  alwaysAllow: []\n"),
        wi("agent", agent, "enforce", `    - cidr: 127.0.0.1/32\n      ports: [${portA}]\n      protocol: tcp\n    - cidr: ::1/128\n      ports: [${port6}]\n    - cidr: 127.0.0.0/8\n      ports: [53]\n      protocol: udp\n`),
        wi("auditor", auditor, "audit", "    - cidr: 10.0.0.0/8\n"),
      ].join("---\n"),
    );
    expect(k.exe.map((e) => e.paths[0])).toEqual([agent, auditor].sort((a, b) => Number(statSync(a).ino) - Number(statSync(b).ino)));
    writeGeneration(pinDir, maps, 0, k);
    flip(maps, 0, 1);

    cg = makeCgroup(findCgroupV2Mount()!.mountPoint, `sluice-test-${process.pid}`);
    for (const t of HOOK_TYPES) bpftool("cgroup", "attach", cg, t, "pinned", join(progs, `sluice_${t}`));
  }, 60_000);

  afterAll(() => {
    if (cg) {
      for (const t of HOOK_TYPES) {
        try {
          bpftool("cgroup", "detach", cg, t, "pinned", join(progs, `sluice_${t}`));
        } catch {
          // not attached (setup failed half-way)
        }
      }
      removeCgroup(cg);
    }
    for (const fd of links) closeFd(fd);
    ring?.close();
    if (pinDir) rmSync(pinDir, { recursive: true, force: true });
    for (const s of servers) s.stop(true);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (mountedBpffs && readdirSync("/sys/fs/bpf").length === 0) Bun.spawnSync(["umount", "/sys/fs/bpf"]);
  }, 60_000);

  const v4 = (port: number, proto: "tcp" | "udp" = "tcp", op: "connect" | "sendto" = "connect"): Attempt => [4, proto, "127.0.0.1", port, op];

  test("unmanaged processes are untouched (unmanaged: allow)", async () => {
    expect(await probe(cg, python, [v4(portA), v4(portB), [6, "tcp", "::1", port6, "connect"], v4(9, "udp", "sendto")])).toEqual(["ok", "ok", "ok", "ok"]);
  });

  test("managed IPv4: the allowed port connects, any other gets EPERM; the deny is reported", async () => {
    const before = counters(maps);
    expect(await probe(cg, python, [v4(portA), v4(portB)], agent)).toEqual(["ok", "EPERM"]);
    expect(counters(maps).DENIED - before.DENIED).toBe(1);
    const deny = pull().find((e) => e.type === EVENT_TYPES.CONNECT && e.dport === portB && e.verdict === VERDICTS.DENY);
    expect(deny).toMatchObject({ workload: ids.idFor(`spiffe://${TD}/agent`), family: 2, proto: 6, hook: HOOKS.CONNECT4, procFlags: PROC_FLAGS.INHERITED, uid: 0 });
    expect([...deny!.addr.subarray(0, 4)]).toEqual([127, 0, 0, 1]);
    expect(deny!.comm).toStartWith("python3");
    expect(deny!.generation).toBe(1);
  });

  test("threads of a classified process are enforced like the process", async () => {
    expect(await probe(cg, python, [[4, "tcp", "127.0.0.1", portA, "thread-connect"], [4, "tcp", "127.0.0.1", portB, "thread-connect"]], agent)).toEqual(["ok", "EPERM"]);
    const deny = pull().find((e) => e.type === EVENT_TYPES.CONNECT && e.dport === portB && e.pid !== e.tgid);
    expect(deny?.verdict).toBe(VERDICTS.DENY);
  });

  test("the exec of a listed binary is classified in the kernel and reported", async () => {
    const r = await runInCgroup(cg, [agent, "-c", "exit 0"]);
    expect(r.code).toBe(0);
    // Two execs for that pid: /bin/sh (which moves itself into the cgroup), then the agent.
    const execs = pull().filter((e) => e.type === EVENT_TYPES.EXEC && e.tgid === r.pid);
    expect(execs.map((e) => e.comm)).toEqual(["sh", "agent-sh"]);
    const st = statSync(agent, { bigint: true });
    expect(execs[0]).toMatchObject({ workload: 0, procFlags: 0 });
    expect(execs[1]).toMatchObject({ workload: ids.idFor(`spiffe://${TD}/agent`), procFlags: PROC_FLAGS.EXE, exeIno: st.ino, exeDev: toKernelDev(st.dev), cgroupId: statSync(cg, { bigint: true }).ino });
    expect(pull().some((e) => e.type === EVENT_TYPES.EXIT && e.tgid === r.pid)).toBe(true);
  });

  test("IPv6 and v4-mapped destinations on AF_INET6 sockets", async () => {
    const got = await probe(
      cg,
      python,
      [
        [6, "tcp", "::1", port6, "connect"],
        [6, "tcp", "::1", portB, "connect"],
        [6, "tcp", "::ffff:127.0.0.1", portA, "connect"],
        [6, "tcp", "::ffff:127.0.0.1", portB, "connect"],
      ],
      agent,
    );
    expect(got).toEqual(["ok", "EPERM", "ok", "EPERM"]);
    const mapped = pull().find((e) => e.type === EVENT_TYPES.CONNECT && e.hook === HOOKS.CONNECT6 && e.dport === portB && e.addr[10] === 0xff);
    expect([...mapped!.addr]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
  });

  test("UDP: sendmsg and connect are decided too", async () => {
    const got = await probe(cg, python, [v4(53, "udp", "sendto"), v4(9, "udp", "sendto"), v4(9, "udp", "connect"), [6, "udp", "::1", 9, "sendto"]], agent);
    expect(got).toEqual(["ok", "EPERM", "EPERM", "EPERM"]);
    const hooks = pull().filter((e) => e.type === EVENT_TYPES.CONNECT && e.dport === 9 && e.proto === 17).map((e) => e.hook);
    expect(hooks).toEqual(expect.arrayContaining([HOOKS.SENDMSG4, HOOKS.CONNECT4, HOOKS.SENDMSG6]));
  });

  test("a child of a classified process (shell script → curl) is enforced", async () => {
    const run = (port: number) => runInCgroup(cg, [agent, "-c", '/bin/sh "$0" "$1"; exit $?', fetchScript, `http://127.0.0.1:${port}/`]);
    expect((await run(portA)).stdout.trim()).toBe("curl=0");
    expect((await run(portB)).stdout.trim()).toBe("curl=7");
    const curlDeny = pull().find((e) => e.type === EVENT_TYPES.CONNECT && e.comm === "curl" && e.dport === portB);
    expect(curlDeny).toMatchObject({ verdict: VERDICTS.DENY, workload: ids.idFor(`spiffe://${TD}/agent`) });
    // Unclassified, the same script reaches B.
    expect((await runInCgroup(cg, ["/bin/sh", fetchScript, `http://127.0.0.1:${portB}/`])).stdout.trim()).toBe("curl=0");
  });

  test("enforcement: audit allows and reports", async () => {
    const before = counters(maps);
    expect(await probe(cg, python, [v4(portB)], auditor)).toEqual(["ok"]);
    expect(counters(maps).AUDITED - before.AUDITED).toBe(1);
    const audit = pull().find((e) => e.type === EVENT_TYPES.CONNECT && e.verdict === VERDICTS.AUDIT);
    expect(audit).toMatchObject({ workload: ids.idFor(`spiffe://${TD}/auditor`), dport: portB });
  });

  test("a generation flip changes decisions for new connections, and flipping back restores them", async () => {
    const k2 = compile(
      [
        host("  unmanaged: deny\n  alwaysAllow:\n    - cidr: ::1/128\n"),
        wi("agent", agent, "enforce", `    - cidr: 127.0.0.0/8\n      ports: [${portB}]\n`),
        wi("auditor", auditor, "audit", "    - cidr: 10.0.0.0/8\n"),
      ].join("---\n"),
    );
    writeGeneration(pinDir, maps, 1, k2);
    // Written but not in force: nothing changes yet.
    expect(await probe(cg, python, [v4(portA), v4(portB)], agent)).toEqual(["ok", "EPERM"]);
    flip(maps, 1, 2);
    expect(await probe(cg, python, [v4(portA), v4(portB), [6, "tcp", "::1", port6, "connect"]], agent)).toEqual(["EPERM", "ok", "ok"]);
    // Unmanaged under `deny`: only alwaysAllow (::1) gets through.
    expect(await probe(cg, python, [v4(portA), v4(portB), [6, "tcp", "::1", port6, "connect"]])).toEqual(["EPERM", "EPERM", "ok"]);
    expect(pull().some((e) => e.type === EVENT_TYPES.CONNECT && e.workload === 0 && e.generation === 2)).toBe(true);
    flip(maps, 0, 1);
    expect(await probe(cg, python, [v4(portA), v4(portB)], agent)).toEqual(["ok", "EPERM"]);
  });

  describe("exec-time classification by binary path AND effective uid/gid, or uid alone (no userspace involved)", () => {
    const BY_PATH_UID = 65534; // alice-py run by this euid is "alice"
    const BY_PATH_GID = 65531; // … or by this egid
    const BY_UID = 65533; // any executable run by this uid is "byuid"
    let alicePy = "";
    let py = ""; // a python other uids can run (python3 on PATH may live under /root, e.g. pyenv's)
    let k3: KernelPolicy;
    const spiffe = (name: string) => ids.idFor(`spiffe://${TD}/${name}`);
    /**
     * In the cgroup, a python launcher switches credentials (`all`: real, effective and saved;
     * else the effective ids only), then execs `exe`, which at once runs the probe in a forked
     * python3 child: the kernel must have classified `exe` at its exec.
     */
    const runAs = async (cred: { uid?: number; gid?: number; all?: boolean }, exe: string, attempts: readonly Attempt[]) => {
      const child = `import subprocess, sys\nsys.exit(subprocess.run([${JSON.stringify(py)}, "-c", ${JSON.stringify(PROBE_PY)}, ${JSON.stringify(JSON.stringify(attempts))}]).returncode)`;
      const g = cred.gid ?? 0;
      const u = cred.uid ?? 0;
      const launch = `import os, sys\nos.setgroups([])\n${cred.all ? `os.setgid(${g}); os.setuid(${u})` : `os.setegid(${g}); os.seteuid(${u})`}\nos.execv(sys.argv[1], [sys.argv[1], "-c", sys.argv[2]])`;
      const r = await runInCgroup(cg, [py, "-c", launch, exe, child]);
      if (r.code !== 0) throw new Error(`runAs failed (exit ${r.code}): ${r.stderr}`);
      return { verdicts: JSON.parse(r.stdout) as string[], pid: r.pid };
    };

    beforeAll(() => {
      chmodSync(tmp, 0o755); // the other uids must reach the copies
      py = realpathSync("/usr/bin/python3");
      alicePy = join(tmp, "alice-py");
      copyFileSync(py, alicePy);
      chmodSync(alicePy, 0o755);
      k3 = compile(
        [
          host("  unmanaged: allow\n  alwaysAllow: []\n"),
          wi("agent", agent, "enforce", `    - cidr: 127.0.0.1/32\n      ports: [${portA}]\n`),
          `apiVersion: sluice/v1alpha1\nkind: WorkloadIdentity\nmetadata: {name: alice}\nspec:\n  workloadID: alice\n  selectors:\n    - {process:binary:path: ${alicePy}, process:uid: ${BY_PATH_UID}}\n    - {process:binary:path: ${alicePy}, process:gid: [${BY_PATH_GID}]}\n  egress:\n    - cidr: 127.0.0.1/32\n      ports: [${portA}]\n`,
          wi("anyone", alicePy, "enforce", "    - cidr: 10.0.0.0/8\n"),
          `apiVersion: sluice/v1alpha1\nkind: WorkloadIdentity\nmetadata: {name: byuid}\nspec:\n  workloadID: byuid\n  selectors: [{process:uid: ${BY_UID}}]\n  egress:\n    - cidr: 127.0.0.1/32\n      ports: [${portB}]\n`,
        ].join("---\n"),
      );
      expect(k3.userspaceSelectors).toEqual([]);
      writeGeneration(pinDir, maps, 1, k3);
      flip(maps, 1, 3);
    });
    afterAll(() => flip(maps, 0, 1));

    test("path + euid: the agent's child connecting at once is denied (EPERM), with no userspace to refine", async () => {
      const r = await runAs({ uid: BY_PATH_UID, gid: BY_PATH_UID }, alicePy, [v4(portA), v4(portB)]);
      expect(r.verdicts).toEqual(["ok", "EPERM"]);
      const exec = pull().find((e) => e.type === EVENT_TYPES.EXEC && e.tgid === r.pid && e.comm === "alice-py");
      // Classified by the EFFECTIVE uid (what process:uid matches); the event's uid is the real one (0).
      expect(exec).toMatchObject({ workload: spiffe("alice"), procFlags: PROC_FLAGS.EXE, uid: 0 });
      const deny = pull().find((e) => e.type === EVENT_TYPES.CONNECT && e.dport === portB && e.workload === spiffe("alice"));
      expect(deny).toMatchObject({ verdict: VERDICTS.DENY, procFlags: PROC_FLAGS.INHERITED });
    });

    test("path + egid classifies too; real and effective ids switched together work the same", async () => {
      expect((await runAs({ gid: BY_PATH_GID }, alicePy, [v4(portA), v4(portB)])).verdicts).toEqual(["ok", "EPERM"]);
      expect((await runAs({ uid: BY_PATH_UID, gid: BY_PATH_UID, all: true }, alicePy, [v4(portA), v4(portB)])).verdicts).toEqual(["ok", "EPERM"]);
    });

    test("the same binary run by another uid is not that workload: the path-only entry (fewer keys) wins", async () => {
      // root: only "anyone" (path) matches → nothing on loopback is allowed.
      const r = await runAs({}, alicePy, [v4(portA), v4(portB)]);
      expect(r.verdicts).toEqual(["EPERM", "EPERM"]);
      expect(pull().find((e) => e.type === EVENT_TYPES.EXEC && e.tgid === r.pid && e.comm === "alice-py")?.workload).toBe(spiffe("anyone"));
    });

    test("uid alone classifies any executable at exec; a tie with a path entry goes to the smallest SPIFFE ID", async () => {
      // The plain python3 run as BY_UID: "byuid" (only portB).
      const byUid = await runAs({ uid: BY_UID, gid: BY_UID, all: true }, py, [v4(portA), v4(portB)]);
      expect(byUid.verdicts).toEqual(["EPERM", "ok"]);
      // alice-py run as BY_UID: "anyone" (path, 1 key) and "byuid" (uid, 1 key) tie; spiffe://…/anyone < …/byuid.
      const tie = await runAs({ uid: BY_UID, gid: BY_UID, all: true }, alicePy, [v4(portA), v4(portB)]);
      expect(pull().find((e) => e.type === EVENT_TYPES.EXEC && e.tgid === tie.pid && e.comm === "alice-py")?.workload).toBe(spiffe("anyone"));
      // Its python3 child matches "byuid" itself: its own match wins over what it inherited (as in userspace's classify).
      expect(tie.verdicts).toEqual(["EPERM", "ok"]);
      // The plain python3 run by an unlisted uid stays unmanaged.
      expect((await runAs({ uid: BY_PATH_UID, gid: BY_PATH_UID, all: true }, py, [v4(portA), v4(portB)])).verdicts).toEqual(["ok", "ok"]);
    });
  });

  test("classifications end with their processes", () => {
    expect(procsTgids(maps)).toEqual([]);
    expect(counters(maps)).toMatchObject({ EVENTS_DROPPED: 0, PROCS_FULL: 0 });
  });
});
