/**
 * TC egress (second line) and XDP ingress between two network namespaces on a veth pair, all
 * real: sluice's loader attaches the object to a test cgroup, the interface guard attaches TC
 * and XDP to the veth end in namespace A (from this thread, switched into A), a managed agent (a
 * python copy selected by path) runs in the cgroup and in A, peers run in B. Addresses exist only
 * inside the two namespaces; namespaces, cgroup and pins are the test's own and removed after.
 *
 *   A: 10.77.0.1  (agent, protected listener)   ⟷   B: 10.77.0.2, 10.77.0.3 (peers)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cgroupV2Root } from "../../src/kernel/cgroup.ts";
import { compileKernelPolicy, InMemoryWorkloadIds, statExe } from "../../src/kernel/compile/index.ts";
import { attachKernel, type AttachedKernel } from "../../src/kernel/enforcer/attach.ts";
import { applyGeneration } from "../../src/kernel/enforcer/generation.ts";
import { CODECS, COUNTERS } from "../../src/kernel/layout.ts";
import { BpfMap } from "../../src/kernel/maps/bpf-map.ts";
import { detachNetdevFilters, interfaceIndex, NetdevGuard, queryClsact } from "../../src/kernel/netdev/index.ts";
import { detachAll, detachPinnedLink } from "../../src/kernel/pin/pins.ts";
import { createLogger } from "../../src/log/index.ts";
import { buildPolicy } from "../../src/policy/index.ts";
import { kernelSkipReason, realPython, removeCgroup } from "./support/agent-cgroup.ts";
import { createVethPair, inNetns, withNetns, type VethPair } from "./support/netns.ts";

const skip =
  kernelSkipReason() ||
  (!Bun.which("ip") ? "iproute2 (ip) is not installed" : "") ||
  (!Bun.which("nsenter") ? "nsenter (util-linux) is not installed" : "") ||
  (existsSync(join(import.meta.dir, "../../.cache/bpf/sluice.bpf.o")) ? "" : "BPF object not built (bun run scripts/build-bpf.ts)");
if (skip) console.warn(`test/kernel/netdev.test.ts skipped: ${skip}`);

const A = "10.77.0.1";
const B = "10.77.0.2";
const B_ALLOWED = "10.77.0.3";
const ALLOWED_PORT = 7001; // the agent may reach B:7001/tcp
const PROTECTED_PORT = 7002; // Service on A, only through sluice (and from 10.77.0.3)
const OPEN_PORT = 7003; // an unprotected port on A
const tag = `${process.pid % 10000}${Date.now() % 1000}`;
const pinDir = `/sys/fs/bpf/sluice-test-netdev-${tag}`;
const logger = createLogger({ level: "error", write: () => {} });

let work = "";
let cgroup = "";
let agent = "";
let python = "";
let pair: VethPair | undefined;
let kernel: AttachedKernel | undefined;
let guard: NetdevGuard | undefined;
const servers: Bun.Subprocess[] = [];

const policyText = (agentPath: string) => `apiVersion: sluice/v1alpha1
kind: WorkloadIdentity
metadata: {name: agent}
spec:
  workloadID: agent
  selectors: [{process:binary:path: ${agentPath}}]
  enforcement: enforce
  egress:
    - cidr: ${B}/32
      ports: [${ALLOWED_PORT}]
---
apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: local-db}
spec:
  addresses: [{address: ${A}, port: ${PROTECTED_PORT}}]
  inbound:
    onlyThroughSluice: true
    allowFrom: [${B_ALLOWED}/32]
`;

/** A TCP listener that accepts and closes, forever (killed in afterAll). */
function listen(ns: string, host: string, port: number): void {
  const code = `import socket\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${host}", ${port})); s.listen(64)\nprint("up", flush=True)\nwhile True:\n    c, _ = s.accept(); c.close()`;
  servers.push(Bun.spawn(inNetns(ns, [python, "-c", code]), { stdout: "pipe", stderr: "inherit" }));
}

const tcpConnect = (host: string, port: number, source?: string) =>
  `import socket, errno\ns = socket.socket(); s.settimeout(1.5)\n${source ? `s.bind(("${source}", 0))\n` : ""}try:\n    s.connect(("${host}", ${port})); print("ok")\nexcept socket.timeout:\n    print("timeout")\nexcept OSError as e:\n    print(errno.errorcode.get(e.errno, e.errno))`;

/** One ICMP echo through a raw socket (never seen by connect/sendmsg hooks): "reply" or "timeout". */
const rawPing = (host: string) => `import socket, struct, select, time, errno
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
body = struct.pack("!BBHHH", 8, 0, 0, 0x5155, 1) + b"sluice!!"
pkt = struct.pack("!BBHHH", 8, 0, csum(body), 0x5155, 1) + b"sluice!!"
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
try:
    s.sendto(pkt, ("${host}", 0))
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno)); raise SystemExit
end = time.time() + 1.5
while time.time() < end:
    r, _, _ = select.select([s], [], [], max(0, end - time.time()))
    if not r: break
    data, src = s.recvfrom(2048)
    ihl = (data[0] & 15) * 4
    if src[0] == "${host}" and data[ihl] == 0 and data[ihl + 4:ihl + 6] == b"\\x51\\x55":
        print("reply"); raise SystemExit
print("timeout")`;

/** Runs `exe -c code` in namespace `ns` (and in the test cgroup when `inCgroup`); its last line. */
async function run(ns: string, exe: string, code: string, inCgroup: boolean): Promise<string> {
  const argv = inNetns(ns, [exe, "-c", code]);
  const cmd = inCgroup ? ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv] : argv;
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return (out.trim() || err.trim()).split("\n").at(-1)!;
}

function counter(name: keyof typeof COUNTERS): bigint {
  const m = BpfMap.adopt<number, bigint>(join(pinDir, "maps", "counters"), CODECS.counters);
  try {
    return m.sumPerCpu(COUNTERS[name]);
  } finally {
    m.close();
  }
}

beforeAll(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), "sluice-netdev-"));
  python = realPython();
  agent = join(work, "agent-python");
  copyFileSync(python, agent);
  chmodSync(agent, 0o755);
  cgroup = join(cgroupV2Root(), `sluice-test-netdev-${tag}`);
  mkdirSync(cgroup);
  pair = createVethPair(tag, A, [B, B_ALLOWED]);
  kernel = attachKernel({ pinDir, cgroup, logger });
  const built = buildPolicy([{ path: "netdev.yaml", text: policyText(agent) }], { trustDomain: "sluice.test" });
  if (!built.snapshot) throw new Error(built.diagnostics.map((d) => d.message).join("\n"));
  applyGeneration(kernel, compileKernelPolicy(built.snapshot, { ids: new InMemoryWorkloadIds(), resolve: () => undefined, statExe }));
  guard = new NetdevGuard({ pinDir, logger, pollMs: 0 });
  withNetns(pair.a, () => guard!.reconcile());
  listen(pair.b, B, ALLOWED_PORT);
  listen(pair.a, A, PROTECTED_PORT);
  listen(pair.a, A, OPEN_PORT);
  for (const s of servers) {
    const reader = (s.stdout as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // "up"
    reader.releaseLock();
  }
}, 30_000);

afterAll(async () => {
  if (skip) return;
  for (const s of servers) s.kill(9);
  kernel?.close();
  if (existsSync(pinDir)) detachAll(pinDir);
  pair?.remove();
  await removeCgroup(cgroup);
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skip !== "")("TC egress and XDP ingress on a veth pair between two namespaces", () => {
  test("the guard attaches TC egress and XDP to the veth in A (never loopback) and pins both", () => {
    const status = guard!.status();
    expect(status.interfaces.map((i) => i.name)).toEqual([pair!.vethA]);
    expect(status.interfaces[0]!.tc).toBe("tcx"); // this host's kernel has tcx (≥ 6.6)
    expect(status.interfaces[0]!.xdp).toBe("attached");
    expect(status.complete).toBe(true);
    expect(readdirSync(join(pinDir, "net")).sort()).toEqual([`tc-${pair!.vethA}`, `xdp-${pair!.vethA}`]);
  });

  test("allowed traffic of the managed agent passes; its connect to anything else is EPERM (first line)", async () => {
    expect(await run(pair!.a, agent, tcpConnect(B, ALLOWED_PORT), true)).toBe("ok");
    expect(await run(pair!.a, agent, tcpConnect(B, OPEN_PORT), true)).toBe("EPERM");
  });

  test("a raw-socket ICMP echo from the agent never leaves A (TC drop, counted); an unmanaged process's does", async () => {
    expect(await run(pair!.a, python, rawPing(B), true)).toBe("reply");
    const before = counter("TC_DROPPED");
    expect(await run(pair!.a, agent, rawPing(B), true)).toBe("timeout");
    expect(counter("TC_DROPPED")).toBeGreaterThan(before);
  });

  test("XDP drops inbound to the protected port from a peer not allowed, passes the allowed peer and other ports", async () => {
    const dropped = counter("XDP_DROPPED");
    const allowed = counter("XDP_ALLOWED");
    expect(await run(pair!.b, python, tcpConnect(A, PROTECTED_PORT), false)).toBe("timeout");
    expect(counter("XDP_DROPPED")).toBeGreaterThan(dropped);
    expect(await run(pair!.b, python, tcpConnect(A, PROTECTED_PORT, B_ALLOWED), false)).toBe("ok");
    expect(counter("XDP_ALLOWED")).toBeGreaterThan(allowed);
    expect(await run(pair!.b, python, tcpConnect(A, OPEN_PORT), false)).toBe("ok");
  });

  test("without tcx (forced here; Debian 12's 6.1 has none) a cls_bpf filter on clsact drops the same packets; removing it lets them through", async () => {
    const tcxPin = join(pinDir, "net", `tc-${pair!.vethA}`);
    detachPinnedLink(tcxPin);
    rmSync(tcxPin);
    const clsact = new NetdevGuard({ pinDir, logger, pollMs: 0, tc: "clsact" });
    const status = withNetns(pair!.a, () => clsact.reconcile());
    expect(status.interfaces[0]!.tc).toBe("clsact");
    expect(readdirSync(join(pinDir, "net")).sort()).toEqual([`clsact-${pair!.vethA}`, `xdp-${pair!.vethA}`]);
    expect(withNetns(pair!.a, () => queryClsact(interfaceIndex(pair!.vethA)!))).toBeGreaterThan(0);
    const before = counter("TC_DROPPED");
    expect(await run(pair!.a, agent, rawPing(B), true)).toBe("timeout");
    expect(counter("TC_DROPPED")).toBeGreaterThan(before);

    expect(withNetns(pair!.a, () => detachNetdevFilters(pinDir, interfaceIndex))).toEqual([pair!.vethA]);
    expect(withNetns(pair!.a, () => queryClsact(interfaceIndex(pair!.vethA)!))).toBeUndefined();
    expect(await run(pair!.a, agent, rawPing(B), true)).toBe("reply");
  });

  test("an interface that goes away loses its pins on the next reconcile; detach removes everything", () => {
    Bun.spawnSync(["ip", "-n", pair!.a, "link", "del", pair!.vethA]);
    const status = withNetns(pair!.a, () => guard!.reconcile());
    expect(status.interfaces).toEqual([]);
    expect(readdirSync(join(pinDir, "net"))).toEqual([]);
    kernel!.close();
    kernel = undefined;
    detachAll(pinDir);
    expect(existsSync(pinDir)).toBe(false);
  });
});
