/**
 * In-guest suite: sluice's own loader on the stock Debian 12 kernel (6.1). Runs inside the qemu
 * TCG guest of scripts/kernel-guest/run-guest.sh (host / read-only over 9p, fresh tmpfs, bpffs and
 * cgroup2); test/kernel/guest-6.1.test.ts boots it:
 *
 *   scripts/kernel-guest/run-guest.sh -- bun test ./test/guest/kernel-6.1.guest.ts
 *
 * The name has no `.test.`: `bun test test/` on the host never picks it up (and outside the guest
 * it skips, saying why). What it does is what `sluice serve` does (src/kernel/enforcer): the BPF
 * object through src/kernel's bun:ffi libbpf bindings (attachKernel: load, pin maps, attach the
 * fork/exec/exit tracepoints and the cgroup connect/sendmsg hooks to a cgroup), a policy compiled
 * by compileKernelPolicy and switched in by applyGeneration; then real processes in that cgroup:
 * a copy of bash (classified in the kernel by its inode at exec) and the plain bash it spawns.
 * Connections are mostly bash's /dev/tcp and /dev/udp redirections (connect(2), no interpreter to
 * start: CPU work is 10–30× slower under TCG); one python3 child covers unconnected UDP (sendmsg)
 * and a connect from a thread. Kept to a few bundled tests for the same reason.
 */
import { statExe } from "../../src/kernel/compile/stat-exe.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, mkdirSync, realpathSync, rmdirSync, rmSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/log/index.ts";
import { buildPolicy } from "../../src/policy/index.ts";
import { createServer, type Server, type Socket } from "node:net";
import { BpfMap, CODECS, COUNTERS, EVENT_TYPES, RingBufferReader, VERDICTS, cgroupV2Root, compileKernelPolicy, detachAll, InMemoryWorkloadIds, listPins, lookupOriginalDestination, setLibbpfLogger, sluiceEvent, type OriginalDestination, type SluiceEvent } from "../../src/kernel/index.ts";
import { probe as pyProbe } from "../kernel/support/cgroup-run.ts";
import type { AttachedKernel } from "../../src/kernel/enforcer/attach.ts";
import { attachKernel, applyGeneration, CGROUP_PROGRAMS, proxyTarget, readState, TRACING_PROGRAMS } from "../../src/kernel/enforcer/index.ts";
import { kernelHasTcx } from "../../src/kernel/host-probes.ts";
import { NETDEV_PROGRAMS } from "../../src/kernel/netdev/index.ts";

const TD = "sluice.guest";
const skip = (() => {
  if (process.env.SLUICE_KERNEL_GUEST !== "1") return "runs only inside the kernel guest (scripts/kernel-guest/run-guest.sh -- bun test ./test/guest/kernel-6.1.guest.ts; test/kernel/guest-6.1.test.ts does that)";
  if (process.getuid?.() !== 0) return "needs root";
  return "";
})();
if (skip) console.warn(`test/guest/kernel-6.1.guest.ts skipped: ${skip}`);
else console.log(`guest kernel ${release()}`);

const logger = createLogger({ level: "info", format: "text" });
const ids = new InMemoryWorkloadIds();
const pinDir = "/sys/fs/bpf/sluice-guest";
let cgroup = "";
let tmp = "";
let agent = "";
/** A bash copy selected by path AND uid (65534): decided by the exec tracepoint from the task's credentials. */
let uidAgent = "";
const UID_AGENT_UID = 65534;
let kernel: AttachedKernel | undefined;
let reader: RingBufferReader | undefined;
const events: SluiceEvent[] = [];
const listeners: { stop(force?: boolean): void; port: number }[] = [];
let portA = 0; // allowed for the agent (127.0.0.1, any protocol)
let portB = 0; // not allowed (a listener on 127.0.0.1: reachable by anyone unmanaged)
let port6 = 0; // allowed for the agent on ::1
let inheritedPid = 0;
let proxy: Server | undefined; // stand-in for sluice's proxy on 127.0.0.1
let svcPort = 0; // an intercepted Service at 127.0.0.2:svcPort (nothing listens there)
const proxied: Array<OriginalDestination | undefined> = [];

const policyText = (agentPath: string) =>
  [
    "apiVersion: sluice/v1alpha1",
    "kind: WorkloadIdentity",
    "metadata: {name: agent}",
    "spec:",
    "  workloadID: agent",
    `  selectors: [{process:binary:path: ${agentPath}}]`,
    "  enforcement: enforce",
    "  egress:",
    "    - cidr: 127.0.0.1/32",
    `      ports: [${portA}]`,
    "    - cidr: ::1/128",
    `      ports: [${port6}]`,
    "    - services: {app: api}",
    "---",
    "apiVersion: sluice/v1alpha1",
    "kind: Service",
    "metadata: {name: api}",
    "spec:",
    `  addresses: [{address: 127.0.0.2, port: ${svcPort}}]`,
    "  labels: {app: api}",
    "  tls: intercept",
    "---",
    "apiVersion: sluice/v1alpha1",
    "kind: WorkloadIdentity",
    "metadata: {name: uid-agent}",
    "spec:",
    "  workloadID: uid-agent",
    `  selectors: [{process:binary:path: ${uidAgent}, process:uid: ${UID_AGENT_UID}}]`,
    "  egress:",
    "    - cidr: 127.0.0.1/32",
    `      ports: [${portA}]`,
    "",
  ].join("\n");

/** bash: one line `@pid N`, then per target `@ target` followed by `@ok` or bash's error lines. */
const PROBE = 'echo "@pid $$"; for t in "$@"; do echo "@ $t"; : <>"/dev/$t" && echo "@ok"; done';

interface ProbeResult {
  readonly pid: number;
  readonly results: Record<string, string>;
}

function parseProbe(out: string): ProbeResult {
  let pid = 0;
  let current = "";
  const results: Record<string, string> = {};
  for (const line of out.split("\n")) {
    if (line.startsWith("@pid ")) pid = Number(line.slice(5));
    else if (line.startsWith("@ ")) results[(current = line.slice(2))] = "?";
    else if (!current || results[current] !== "?") continue;
    else if (line === "@ok") results[current] = "ok";
    else if (line.includes("Operation not permitted")) results[current] = "EPERM";
    else if (line.includes("Connection refused")) results[current] = "ECONNREFUSED";
    else if (line.trim()) results[current] = `? ${line.trim()}`;
  }
  return { pid, results };
}

/** Runs `cmd` (stdout+stderr merged) as a process that first moves itself into the test cgroup. */
async function inCgroup(cmd: string[]): Promise<{ pid: number; out: string; code: number }> {
  const p = Bun.spawn(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@" 2>&1', cgroup, ...cmd], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { pid: p.pid, out: out + err, code };
}

async function probe(exe: string, targets: string[]): Promise<ProbeResult & { spawnedPid: number }> {
  const r = await inCgroup([exe, "-c", PROBE, "probe", ...targets]);
  return { ...parseProbe(r.out), spawnedPid: r.pid };
}

const tcp = (host: string, port: number) => `tcp/${host}/${port}`;
const udp = (host: string, port: number) => `udp/${host}/${port}`;

beforeAll(async () => {
  if (skip) return;
  setLibbpfLogger(logger);
  tmp = mkdtempSync("/tmp/sluice-guest-");
  agent = join(tmp, "agent-bash");
  copyFileSync("/bin/bash", agent);
  chmodSync(agent, 0o755);
  chmodSync(tmp, 0o755); // uid 65534 runs uidAgent
  uidAgent = join(tmp, "uid-agent-bash");
  copyFileSync("/bin/bash", uidAgent);
  chmodSync(uidAgent, 0o755);
  for (const hostname of ["127.0.0.1", "127.0.0.1", "::1"]) {
    listeners.push(Bun.listen({ hostname, port: 0, socket: { data() {}, open() {} } }) as unknown as { stop(force?: boolean): void; port: number });
  }
  [portA, portB, port6] = listeners.map((l) => l.port) as [number, number, number];
  svcPort = portB; // nothing listens on 127.0.0.2
  proxy = await new Promise<Server>((resolve) => {
    const srv = createServer((sock: Socket) => {
      proxied.push(lookupOriginalDestination(kernel!.origDst, { localPort: sock.remotePort!, family: 4 }));
      sock.end();
    });
    srv.listen({ host: "127.0.0.1", port: 0 }, () => resolve(srv));
  });

  cgroup = join(cgroupV2Root(), "sluice-guest");
  mkdirSync(cgroup);
  kernel = attachKernel({ pinDir, cgroup, logger });
  reader = new RingBufferReader({ fd: kernel.eventsFd, name: "events" }, { logger, onRecord: (r) => events.push(sluiceEvent.decode(r)) });

  const built = buildPolicy([{ path: "agent.yaml", text: policyText(agent) }], { trustDomain: TD });
  if (!built.snapshot) throw new Error(built.diagnostics.map((d) => d.message).join("\n"));
  const proxyPort = (proxy.address() as { port: number }).port;
  const compiled = compileKernelPolicy(built.snapshot, { ids, resolve: () => undefined, statExe, proxy: proxyTarget(`127.0.0.1:${proxyPort}`)! });
  expect(compiled.exe.map((e) => e.paths[0]).sort()).toEqual([agent, uidAgent].sort());
  expect(compiled.exe.find((e) => e.paths[0] === uidAgent)?.uid).toBe(UID_AGENT_UID);
  applyGeneration(kernel, compiled);
}, 60_000);

afterAll(() => {
  if (skip) return;
  reader?.stop();
  kernel?.close();
  detachAll(pinDir);
  for (const l of listeners) l.stop(true);
  proxy?.close();
  try {
    rmdirSync(cgroup);
  } catch {
    /* a straggler still in it */
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(skip !== "")(`sluice on the stock Debian kernel (${release()})`, () => {
  test("the guest runs a 6.1 kernel, and sluice's loader attached and pinned every program there", () => {
    expect(release()).toMatch(/^6\.1\./);
    expect(existsSync("/sys/kernel/btf/vmlinux")).toBe(true);
    const pins = listPins(pinDir).map((p) => p.name);
    for (const name of [...CGROUP_PROGRAMS, ...TRACING_PROGRAMS]) expect(pins).toContain(`links/${name}`);
    // TC egress and XDP ingress programs passed 6.1's verifier too (attached per interface by NetdevGuard).
    for (const name of NETDEV_PROGRAMS) expect(pins).toContain(`progs/${name}`);
    expect(kernelHasTcx()).toBe(false); // 6.1: TC egress falls back to cls_bpf on clsact
    expect(readState(kernel!).generation).toBe(1);
  });

  test("the classified agent: allowed connects succeed, the rest get EPERM (IPv4, IPv6, v4-mapped, UDP)", async () => {
    const r = await probe(agent, [tcp("127.0.0.1", portA), tcp("127.0.0.1", portB), tcp("::1", port6), tcp("::1", portB), tcp("::ffff:127.0.0.1", portA), tcp("::ffff:127.0.0.1", portB), udp("127.0.0.1", portA), udp("127.0.0.1", portB)]);
    expect(r.pid).toBe(r.spawnedPid); // the agent itself (sh exec'd it in place)
    expect(r.results).toEqual({
      [tcp("127.0.0.1", portA)]: "ok",
      [tcp("127.0.0.1", portB)]: "EPERM",
      [tcp("::1", port6)]: "ok",
      [tcp("::1", portB)]: "EPERM", // nothing listens there: without the hook this would be ECONNREFUSED
      [tcp("::ffff:127.0.0.1", portA)]: "ok",
      [tcp("::ffff:127.0.0.1", portB)]: "EPERM",
      [udp("127.0.0.1", portA)]: "ok",
      [udp("127.0.0.1", portB)]: "EPERM",
    });
  }, 60_000);

  test("an unmanaged bash in the same cgroup is untouched; the plain bash the agent spawns inherits the agent's workload", async () => {
    const plain = await probe("/bin/bash", [tcp("127.0.0.1", portB), tcp("::1", portB)]);
    expect(plain.results).toEqual({ [tcp("127.0.0.1", portB)]: "ok", [tcp("::1", portB)]: "ECONNREFUSED" });

    // The agent runs the probe in a plain /bin/bash it forks and execs (`; exit $?` keeps it from
    // exec'ing in place); that bash's inode is not in the policy: it inherits.
    const r = await inCgroup([agent, "-c", '/bin/bash -c "$0" probe "$@"; exit $?', PROBE, tcp("127.0.0.1", portB), tcp("127.0.0.1", portA)]);
    const inherited = parseProbe(r.out);
    expect(inherited.pid).not.toBe(r.pid);
    expect(inherited.pid).toBeGreaterThan(0);
    expect(inherited.results).toEqual({ [tcp("127.0.0.1", portB)]: "EPERM", [tcp("127.0.0.1", portA)]: "ok" });
    inheritedPid = inherited.pid;
  }, 60_000);

  test("a python the agent spawns: UDP sendmsg (IPv4, IPv6) and a connect from one of its threads are decided too", async () => {
    // Debian's interpreter itself: a python3 found on PATH may be a shim script (pyenv), slow to start here.
    const python = realpathSync(existsSync("/usr/bin/python3") ? "/usr/bin/python3" : Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"]).stdout.toString().trim());
    const results = await pyProbe(cgroup, python, [
      [4, "udp", "127.0.0.1", portA, "sendto"],
      [4, "udp", "127.0.0.1", portB, "sendto"],
      [6, "udp", "::1", port6, "sendto"],
      [6, "udp", "::1", portB, "sendto"],
      [4, "tcp", "127.0.0.1", portA, "thread-connect"],
      [4, "tcp", "127.0.0.1", portB, "thread-connect"],
    ], agent);
    expect(results).toEqual(["ok", "EPERM", "ok", "EPERM", "ok", "EPERM"]);
  }, 60_000);

  test("redirect: the agent's connect to an intercepted Service lands on the proxy, which recovers the original destination and the agent's pid", async () => {
    const r = await probe(agent, [tcp("127.0.0.2", svcPort)]);
    expect(r.results).toEqual({ [tcp("127.0.0.2", svcPort)]: "ok" }); // nothing listens on 127.0.0.2: only the proxy answers
    for (let i = 0; i < 50 && proxied.length === 0; i++) await Bun.sleep(50);
    expect(proxied).toHaveLength(1);
    expect(proxied[0]).toMatchObject({ address: "127.0.0.2", port: svcPort, pid: r.pid, uid: 0, workload: ids.idFor(`spiffe://${TD}/agent`) });
    const plain = await probe("/bin/bash", [tcp("127.0.0.2", svcPort)]);
    expect(plain.results).toEqual({ [tcp("127.0.0.2", svcPort)]: "ECONNREFUSED" }); // unmanaged: not redirected
    expect(proxied).toHaveLength(1);
  }, 60_000);

  test("the kernel reported it: denied connects carry the agent's workload; exec classification and fork inheritance are counted", () => {
    reader!.drain();
    const agentId = ids.idFor(`spiffe://${TD}/agent`);
    const denied = events.filter((e) => e.type === EVENT_TYPES.CONNECT && e.verdict === VERDICTS.DENY);
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((e) => e.workload === agentId && e.dport === portB)).toBe(true);
    expect(denied.some((e) => e.tgid === inheritedPid)).toBe(true);
    const counters = BpfMap.adopt(join(pinDir, "maps", "counters"), CODECS.counters);
    try {
      // 4 by the agent, 1 by the bash it spawned, 3 by the python it spawned.
      expect(counters.sumPerCpu(COUNTERS.DENIED)).toBe(8n);
      expect(counters.sumPerCpu(COUNTERS.EXEC_CLASSIFIED)).toBeGreaterThanOrEqual(3n);
      expect(counters.sumPerCpu(COUNTERS.FORK_INHERITED)).toBeGreaterThanOrEqual(2n);
      expect(counters.sumPerCpu(COUNTERS.REDIRECTED)).toBe(1n);
    } finally {
      counters.close();
    }
  });

  test("path + uid is decided at exec on 6.1 too: the copy run by uid 65534 is that workload, run by root it is not", async () => {
    const asUser = await inCgroup(["setpriv", "--reuid", String(UID_AGENT_UID), "--regid", String(UID_AGENT_UID), "--clear-groups", uidAgent, "-c", PROBE, "probe", tcp("127.0.0.1", portA), tcp("127.0.0.1", portB)]);
    expect(parseProbe(asUser.out).results).toEqual({ [tcp("127.0.0.1", portA)]: "ok", [tcp("127.0.0.1", portB)]: "EPERM" });
    const asRoot = await probe(uidAgent, [tcp("127.0.0.1", portB)]);
    expect(asRoot.results).toEqual({ [tcp("127.0.0.1", portB)]: "ok" });
  }, 60_000);
});
