/**
 * The redirect path (milestone 2a), all real: sluice's loader (attachKernel) attaches connect4/6,
 * getpeername4/6 and sockops to a cgroup the test creates; a policy whose Service (tls: intercept)
 * sits at a loopback address nothing listens on is compiled with the proxy's address and applied;
 * a Node listener on 127.0.0.1:P and [::1]:P stands in for the proxy. A managed agent (a copy of
 * the python interpreter, run as uid/gid 65534) connects to the Service address:
 *   - the connection lands on the stand-in proxy, which, in its accept handler, recovers the
 *     original destination and the agent's pid/uid/gid/cgroup/workload through
 *     lookupOriginalDestination (keyed by the accepted socket's remote port = the client's port);
 *   - the agent's getpeername() reports the Service address, not the proxy;
 *   - IPv4, IPv6 and v4-mapped; a passthrough Service stays a plain allow; a destination outside
 *     the policy gets EPERM; an unmanaged process is not redirected.
 * Pins and the cgroup are the test's own and are removed after.
 */
import { statExe } from "../../src/kernel/compile/stat-exe.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/log/index.ts";
import { buildPolicy } from "../../src/policy/index.ts";
import { BpfMap, CODECS, COUNTERS, cgroupId, cgroupV2Root, compileKernelPolicy, detachAll, InMemoryWorkloadIds, lookupOriginalDestination, setLibbpfLogger, type OriginalDestination } from "../../src/kernel/index.ts";
import { applyGeneration, attachKernel, proxyTarget, type AttachedKernel } from "../../src/kernel/enforcer/index.ts";
import { EVENT_TYPES, sluiceEvent, VERDICTS, type SluiceEvent } from "../../src/kernel/layout.ts";
import { RingBufferReader } from "../../src/kernel/ringbuf-reader.ts";
import { kernelSkipReason, realPython, removeCgroup } from "./support/agent-cgroup.ts";

const skip = kernelSkipReason() || (existsSync(join(import.meta.dir, "../../.cache/bpf/sluice.bpf.o")) ? "" : "BPF object not built (bun run build.ts)");
if (skip) console.warn(`kernel redirect tests skipped: ${skip}`);

const TD = "sluice.local";
const id = `${process.pid}-${Date.now() % 100000}`;
const cgroup = join(skip ? "/nonexistent" : cgroupV2Root(), `sluice-redirect-${id}`);
const pinDir = `/sys/fs/bpf/sluice-redirect-${id}`;
const logger = createLogger({ level: "warn", format: "text" });
const ids = new InMemoryWorkloadIds();
const NOBODY = 65534;

let tmp = "";
let agent = "";
let python = "";
let kernel: AttachedKernel | undefined;
let reader: RingBufferReader | undefined;
const events: SluiceEvent[] = [];
const servers: Server[] = [];
const plain: Server[] = [];
let proxyPort = 0;
let svcPort = 0; // 127.0.0.2:svcPort — nothing listens there
let svc6Port = 0; // [::1]:svc6Port — nothing listens there
let rawPort = 0; // 127.0.0.3:rawPort — a real listener (passthrough Service)
let otherPort = 0; // 127.0.0.1:otherPort — a real listener outside the policy
/** What the stand-in proxy saw, by the accepted socket's remote port. */
const accepted = new Map<number, { family: string; dst: OriginalDestination | undefined }>();

function listen(host: string, port: number, onConn: (s: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer(onConn);
    srv.once("error", reject);
    srv.listen({ host, port, ipv6Only: host.includes(":") }, () => resolve(srv));
  });
}
const portOf = (s: Server) => (s.address() as { port: number }).port;

/** A free port on `host` (bound, then released). */
async function freePort(host: string): Promise<number> {
  const s = await listen(host, 0, () => {});
  const p = portOf(s);
  await new Promise((r) => s.close(r));
  return p;
}

const policyText = () =>
  [
    "apiVersion: sluice/v1alpha1",
    "kind: Service",
    "metadata: {name: api}",
    "spec:",
    `  addresses: [{address: 127.0.0.2, port: ${svcPort}}, {address: "::1", port: ${svc6Port}}]`,
    "  labels: {app: api}",
    "  tls: intercept",
    "---",
    "apiVersion: sluice/v1alpha1",
    "kind: Service",
    "metadata: {name: raw}",
    "spec:",
    `  addresses: [{address: 127.0.0.3, port: ${rawPort}}]`,
    "  labels: {app: raw}",
    "  tls: passthrough",
    "---",
    "apiVersion: sluice/v1alpha1",
    "kind: WorkloadIdentity",
    "metadata: {name: agent}",
    "spec:",
    "  workloadID: agent",
    `  selectors: [{process:binary:path: ${agent}}]`,
    "  enforcement: enforce",
    "  egress:",
    "    - services: {app: api}",
    "    - services: {app: raw}",
    "",
  ].join("\n");

/** Connects, then prints JSON: ok, getpeername, the local port, its pid/uid, the first bytes read. */
const clientScript = (host: string, port: number, family = "AF_INET") =>
  `import socket, errno, os, json
s = socket.socket(socket.${family}, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(("${host}", ${port}))
    peer = s.getpeername()
    local = s.getsockname()
    data = s.recv(64).decode()
    print(json.dumps({"ok": True, "peer": [peer[0], peer[1]], "local": local[1], "pid": os.getpid(), "uid": os.getuid(), "data": data}))
except OSError as e:
    print(json.dumps({"ok": False, "err": errno.errorcode.get(e.errno, str(e))}))`;

interface ClientResult {
  ok: boolean;
  err?: string;
  peer?: [string, number];
  local?: number;
  pid?: number;
  uid?: number;
  data?: string;
}

/** Runs `exe -c code` in the test cgroup, as `uid` (setpriv) when given; parses its last line. */
async function run(exe: string, code: string, uid?: number): Promise<ClientResult> {
  const drop = uid === undefined ? [] : ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups"];
  const p = Bun.spawn(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...drop, exe, "-c", code], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const line = (out.trim() || err.trim()).split("\n").at(-1)!;
  try {
    return JSON.parse(line) as ClientResult;
  } catch {
    throw new Error(`client printed: ${out}${err}`);
  }
}

beforeAll(async () => {
  if (skip) return;
  setLibbpfLogger(logger);
  tmp = mkdtempSync(join(tmpdir(), "sluice-redirect-"));
  chmodSync(tmp, 0o755); // the agent runs as nobody
  python = realPython();
  agent = join(tmp, "agent-python");
  copyFileSync(python, agent);
  chmodSync(agent, 0o755);

  // The stand-in proxy: one port on 127.0.0.1 and ::1, as sluice's proxy will listen.
  const onProxy = (s: Socket) => {
    const family = s.remoteFamily === "IPv6" ? 6 : 4;
    // In the accept handler, before anything else: the kernel filled orig_dst at the client's
    // ACTIVE_ESTABLISHED, which precedes the accept.
    const dst = lookupOriginalDestination(kernel!.origDst, { localPort: s.remotePort!, family });
    accepted.set(s.remotePort!, { family: s.remoteFamily!, dst });
    s.end("proxied");
  };
  const v4 = await listen("127.0.0.1", 0, onProxy);
  proxyPort = portOf(v4);
  servers.push(v4, await listen("::1", proxyPort, onProxy));
  svcPort = await freePort("127.0.0.2");
  svc6Port = await freePort("::1");
  const raw = await listen("127.0.0.3", 0, (s) => s.end("raw"));
  const other = await listen("127.0.0.1", 0, (s) => s.end("other"));
  plain.push(raw, other);
  rawPort = portOf(raw);
  otherPort = portOf(other);

  mkdirSync(cgroup);
  kernel = attachKernel({ pinDir, cgroup, logger });
  const built = buildPolicy([{ path: "redirect.yaml", text: policyText() }], { trustDomain: TD });
  if (!built.snapshot) throw new Error(built.diagnostics.map((d) => d.message).join("\n"));
  const compiled = compileKernelPolicy(built.snapshot, { ids, resolve: () => undefined, statExe, proxy: proxyTarget(`127.0.0.1:${proxyPort}`)! });
  expect(compiled.exe.map((e) => e.paths[0])).toEqual([agent]);
  applyGeneration(kernel, compiled);
  reader = new RingBufferReader({ fd: kernel.eventsFd, name: "events" }, { logger, onRecord: (b) => void events.push(sluiceEvent.decode(b)) }).start();
}, 60_000);

afterAll(async () => {
  if (skip) return;
  reader?.stop();
  kernel?.close();
  detachAll(pinDir);
  for (const s of [...servers, ...plain]) s.close();
  await removeCgroup(cgroup);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(skip !== "")("kernel redirect of intercepted Service connects to the proxy (real cgroup, real processes)", () => {
  const expectRedirected = (r: ClientResult, address: string, port: number, family: string) => {
    expect(r).toMatchObject({ ok: true, data: "proxied", uid: NOBODY });
    const seen = accepted.get(r.local!);
    expect(seen?.family).toBe(family);
    expect(seen?.dst).toMatchObject({ address, port, pid: r.pid, uid: NOBODY, gid: NOBODY, workload: ids.idFor(`spiffe://${TD}/agent`) });
    expect(seen!.dst!.cgroupId).toBe(cgroupId(cgroup));
  };

  test("IPv4: the agent's connect to the Service lands on the proxy, which recovers the original destination and the agent; getpeername shows the Service", async () => {
    const r = await run(agent, clientScript("127.0.0.2", svcPort), NOBODY);
    expectRedirected(r, "127.0.0.2", svcPort, "IPv4");
    expect(r.peer).toEqual(["127.0.0.2", svcPort]);
  });

  test("IPv6 and v4-mapped are redirected too (v4-mapped to the proxy's IPv4 listener)", async () => {
    const r6 = await run(agent, clientScript("::1", svc6Port, "AF_INET6"), NOBODY);
    expectRedirected(r6, "::1", svc6Port, "IPv6");
    expect(r6.peer).toEqual(["::1", svc6Port]);
    const mapped = await run(agent, clientScript("::ffff:127.0.0.2", svcPort, "AF_INET6"), NOBODY);
    expectRedirected(mapped, "127.0.0.2", svcPort, "IPv4");
    expect(accepted.get(mapped.local!)!.dst!.v4Mapped).toBe(true);
    expect(mapped.peer).toEqual(["::ffff:127.0.0.2", svcPort]);
  });

  test("a passthrough Service is a plain allow; a destination outside the policy gets EPERM", async () => {
    expect(await run(agent, clientScript("127.0.0.3", rawPort), NOBODY)).toMatchObject({ ok: true, data: "raw", peer: ["127.0.0.3", rawPort] });
    expect(await run(agent, clientScript("127.0.0.1", otherPort), NOBODY)).toEqual({ ok: false, err: "EPERM" });
    expect(await run(agent, clientScript("127.0.0.2", svcPort + 1 === 65536 ? 1 : svcPort + 1), NOBODY)).toEqual({ ok: false, err: "EPERM" });
  });

  test("an unmanaged process connecting to the Service address is not redirected", async () => {
    const before = accepted.size;
    expect(await run(python, clientScript("127.0.0.2", svcPort))).toEqual({ ok: false, err: "ECONNREFUSED" });
    expect(await run(python, clientScript("::1", svc6Port, "AF_INET6"))).toEqual({ ok: false, err: "ECONNREFUSED" });
    expect(accepted.size).toBe(before);
  });

  test("each redirected connection is reported once on the ring buffer, with its original destination and process", async () => {
    reader!.stop({ drain: true });
    const redirects = events.filter((e) => e.type === EVENT_TYPES.CONNECT && e.verdict === VERDICTS.REDIRECT);
    expect(redirects.length).toBe(3); // IPv4, IPv6, v4-mapped (the unmanaged and EPERM connects are not redirects)
    const workload = ids.idFor(`spiffe://${TD}/agent`);
    for (const e of redirects) expect(e).toMatchObject({ workload, uid: NOBODY, gid: NOBODY, proto: 6 });
    expect(redirects.map((e) => e.dport).sort()).toEqual([svcPort, svcPort, svc6Port].sort());
    expect(redirects.find((e) => e.family === 2)!.addr.subarray(0, 4)).toEqual(new Uint8Array([127, 0, 0, 2]));
  });

  test("redirects are counted", () => {
    const counters = BpfMap.adopt(join(pinDir, "maps", "counters"), CODECS.counters);
    try {
      expect(counters.sumPerCpu(COUNTERS.REDIRECTED)).toBeGreaterThanOrEqual(3n);
      expect(counters.sumPerCpu(COUNTERS.REDIRECT_FAILED)).toBe(0n);
      expect(counters.sumPerCpu(COUNTERS.ORIGDST_FAILED)).toBe(0n);
    } finally {
      counters.close();
    }
  });
});
