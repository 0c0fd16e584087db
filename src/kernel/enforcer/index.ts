/**
 * Kernel enforcement in `sluice serve`: attach (or adopt) the BPF programs, keep the kernel's
 * policy generation in step with the PolicySnapshot (and with DNS answers for policy host names),
 * refine process classification from exec/fork events, audit denied connects, and keep TC egress
 * and XDP ingress on the host's interfaces (NetdevGuard).
 * Stopping the daemon leaves the pinned programs attached: enforcement holds while it is down.
 */
import { isIP } from "node:net";
import { parseHostPort } from "../../config/address.ts";
import type { AuditLog } from "../../audit/index.ts";
import type { SluiceConfig } from "../../config/index.ts";
import { HostResolver } from "../../dns/index.ts";
import type { Attestor } from "../../identity/index.ts";
import type { Logger } from "../../log/index.ts";
import type { PolicyEngine, PolicySnapshot } from "../../policy/index.ts";
import type { Store } from "../../store/index.ts";
import { cgroupV2Root } from "../cgroup.ts";
import { compileKernelPolicy, hostnamesIn, KernelCompileError, statExeWithHash, type ProxyTarget } from "../compile/index.ts";
import { EVENT_TYPES, sluiceEvent, VERDICTS, type SluiceEvent, type SluiceState } from "../layout.ts";
import { setLibbpfLogger } from "../libbpf/print.ts";
import { RingBufferReader } from "../ringbuf-reader.ts";
import { storedWorkloadIds } from "../workload-ids.ts";
import { attachKernel } from "./attach.ts";
import { egressAuditor } from "./egress-audit.ts";
import { applyGeneration, readState } from "./generation.ts";
import { createRefiner } from "./refine.ts";
import { WorkQueue } from "./work-queue.ts";
import { NetdevGuard, type NetdevStatus } from "../netdev/guard.ts";
import { lookupOriginalDestination, type OriginalDestination } from "../original-destination.ts";

export { attachKernel, BPF_OBJECT_ASSET, CGROUP_PROGRAMS, TRACING_PROGRAMS, type AttachedKernel } from "./attach.ts";
export { applyGeneration, proxyAddress, readState } from "./generation.ts";

export interface KernelEnforcement {
  readonly cgroup: string;
  readonly pinDir: string;
  state(): SluiceState;
  /** TC egress / XDP ingress per guarded interface (how attached, or why not). */
  netdev(): NetdevStatus;
  /** Resolves after the current policy is in the kernel (tests, SIGHUP). */
  applyNow(): Promise<void>;
  /** For the proxy, right after accept(): what connect() recorded for a redirected client socket. */
  originalDestination(peer: { localPort: number; family: 4 | 6 }): OriginalDestination | undefined;
  /** The SPIFFE ID of a kernel workload id (0 and unknown ids: undefined). */
  workloadSpiffeId(id: number): string | undefined;
  stop(): Promise<void>;
}

export async function startKernelEnforcement(deps: {
  config: SluiceConfig;
  store: Store;
  audit: AuditLog;
  policy: PolicyEngine;
  attestor: Attestor;
  logger: Logger;
  /** True once an injection proxy listens on proxy.listen: only then are Service connects redirected to it. */
  proxyListening?: boolean;
  /**
   * Interfaces that get TC egress and XDP ingress; undefined = every non-loopback interface,
   * including ones that appear later. Overrides `config.kernel.interfaces` (tests).
   */
  interfaces?: readonly string[];
  /** Each connect the kernel redirected to the proxy (original destination, pid, workload), from the ring buffer. */
  onRedirect?: (event: SluiceEvent) => void;
}): Promise<KernelEnforcement> {
  const { config, store, audit, policy, attestor } = deps;
  const logger = deps.logger.child({ component: "kernel" });
  setLibbpfLogger(logger);
  const cgroup = config.kernel.cgroup ?? cgroupV2Root();
  const kernel = attachKernel({ pinDir: config.kernel.pinDir, cgroup, logger });
  const ids = storedWorkloadIds(store);
  const resolver = new HostResolver({ logger });
  const refiner = createRefiner({ procs: kernel.procs, attestor, ids, snapshot: () => policy.current(), logger });
  const auditEgress = egressAuditor(audit, ids);
  const refinements = new WorkQueue();
  // Redirecting to a proxy that does not run would make every intercepted Service unreachable;
  // without one, the policy's allow for a Service is carried out as a direct allow.
  const proxy = deps.proxyListening ? proxyTarget(config.proxy.listen) : undefined;
  if (!deps.proxyListening) logger.info("no injection proxy runs: managed workloads reach their Services directly (allowed at L4, not redirected)");
  else if (!proxy) logger.warn("proxy.listen has port 0: no fixed proxy port for the kernel to redirect to; intercepted Service connects are compiled as plain allows", { listen: config.proxy.listen });

  let applying: Promise<void> = Promise.resolve();
  const apply = (snapshot: PolicySnapshot) => {
    applying = applying.then(() => applySnapshot(snapshot)).catch((err) => logger.error("kernel policy apply failed; the previous generation stays in force", { error: err }));
    return applying;
  };
  const applySnapshot = async (snapshot: PolicySnapshot) => {
    await resolver.ensure(hostnamesIn(snapshot));
    let compiled;
    try {
      compiled = compileKernelPolicy(snapshot, { ids, resolve: (h) => resolver.cached(h), statExe: statExeWithHash, ...(proxy ? { proxy } : {}) });
    } catch (err) {
      if (!(err instanceof KernelCompileError)) throw err;
      logger.error(err.message, { generation: snapshot.generation });
      audit.append({ kind: "kernel.reject", decision: "error", details: { policyGeneration: snapshot.generation, reason: err.message } });
      return;
    }
    for (const w of compiled.warnings) logger.warn(w.message, { code: w.code, ...(w.workload ? { workload: w.workload } : {}) });
    const state = applyGeneration(kernel, compiled);
    const scan = await refiner.scanAll();
    logger.info("kernel policy applied", { kernelGeneration: state.generation, slot: state.activeSlot, policyGeneration: snapshot.generation, rulesV4: compiled.rulesV4.length, rulesV6: compiled.rulesV6.length, ...scan });
    audit.append({ kind: "kernel.apply", decision: "info", details: { kernelGeneration: state.generation, policyGeneration: snapshot.generation, classified: scan.classified } });
  };

  const reader = new RingBufferReader(
    { fd: kernel.eventsFd, name: "events" },
    {
      logger,
      onRecord(bytes) {
        const e = sluiceEvent.decode(bytes);
        if (e.type === EVENT_TYPES.EXEC) refinements.push(() => refiner.onExec(e.tgid));
        else if (e.type === EVENT_TYPES.FORK) refiner.onFork(e.tgid, e.ppid);
        else if (e.type === EVENT_TYPES.CONNECT && e.verdict === VERDICTS.REDIRECT) deps.onRedirect?.(e);
        else if (e.type === EVENT_TYPES.CONNECT && (e.verdict === VERDICTS.DENY || e.verdict === VERDICTS.AUDIT)) auditEgress(e);
      },
    },
  ).start();

  await apply(policy.current());
  const interfaces = deps.interfaces ?? config.kernel.interfaces ?? undefined;
  const guard = new NetdevGuard({ pinDir: config.kernel.pinDir, logger, ...(interfaces ? { interfaces } : {}) });
  try {
    const net = guard.start().status();
    const failed = net.interfaces.filter((i) => i.tc === "failed" || i.xdp === "failed");
    if (failed.length > 0)
      logger.error("TC egress / XDP ingress could not be attached everywhere: on these interfaces raw-socket traffic of managed workloads is not checked and protected ports are reachable directly", {
        interfaces: failed.map((i) => ({ name: i.name, tc: i.tc, xdp: i.xdp, errors: i.errors })),
      });
    logger.info("interface guard attached", { interfaces: net.interfaces.map((i) => `${i.name}:${i.tc}+xdp:${i.xdp}`) });
  } catch (err) {
    logger.error("interface guard failed: no TC egress / XDP ingress (the cgroup hooks still enforce connect and sendmsg)", { error: err });
  }
  // What no kernel event reports (a setuid() without exec, a cgroup move) is caught by a periodic
  // rescan of every process, serialized with policy applies.
  const rescan = setInterval(() => {
    applying = applying.then(() => refiner.scanAll()).then(
      () => {},
      (err) => logger.warn("periodic process rescan failed", { error: err }),
    );
  }, config.kernel.rescanIntervalSeconds * 1000);
  rescan.unref();
  const unsubscribe = policy.subscribe((s) => void apply(s));
  const unwatchDns = resolver.onChange(() => void apply(policy.current()));
  resolver.start();
  logger.info(kernel.adopted ? "kernel enforcement adopted from pins" : "kernel enforcement attached", { cgroup, pinDir: config.kernel.pinDir });

  return {
    cgroup,
    pinDir: config.kernel.pinDir,
    state: () => readState(kernel),
    netdev: () => guard.status(),
    applyNow: () => apply(policy.current()),
    originalDestination: (peer) => lookupOriginalDestination(kernel.origDst, peer),
    workloadSpiffeId: (id) => (id === 0 ? undefined : ids.spiffeIdOf(id)),
    async stop() {
      clearInterval(rescan);
      unsubscribe();
      guard.stop();
      unwatchDns();
      resolver.stop();
      await applying;
      reader.stop({ drain: true });
      await refinements.idle();
      if (refinements.dropped > 0) logger.warn("exec refinements dropped under load (those processes kept their inherited classification)", { dropped: refinements.dropped });
      kernel.close(); // the pins keep the programs attached: enforcement outlives the daemon
    },
  };
}

/**
 * Where the kernel redirects intercepted Service connects: `proxy.listen`'s port on 127.0.0.1
 * (AF_INET and v4-mapped destinations; the listen host when it is an IPv4 loopback address) and
 * on ::1 (native IPv6 destinations).
 */
export function proxyTarget(listen: string): ProxyTarget | undefined {
  const { host, port } = parseHostPort(listen, "proxy.listen");
  if (port === 0) return undefined;
  return { v4: isIP(host) === 4 && host.startsWith("127.") ? host : "127.0.0.1", v6: "::1", port };
}
