/**
 * The per-interface half of kernel enforcement: TC egress (second line) and XDP ingress
 * (protected local ports) on every guarded interface — all non-loopback interfaces by default,
 * including ones that appear later (polled), or the operator's list. Pins under `<pinDir>/net/`:
 *
 *   net/tc-<ifname>      tcx link (Linux ≥ 6.6)
 *   net/clsact-<ifname>  the TC program pinned as a marker of a cls_bpf filter (no tcx)
 *   net/xdp-<ifname>     XDP link (generic mode)
 *
 * Links stay attached while sluice is down (fail closed) and are adopted on restart; a link whose
 * interface went away (or whose name now belongs to another ifindex) is removed. The programs come
 * from `<pinDir>/progs/` (pinned by attachKernel), so interfaces appearing after a restart are
 * guarded by the programs in force.
 */
import { closeSync, existsSync, mkdirSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../log/index.ts";
import { bpfFdInfo } from "../libbpf/fdinfo.ts";
import { AttachType } from "../libbpf/constants.ts";
import { linkCreate, linkDetach, objGet, objPin } from "../libbpf/syscalls.ts";
import { guardedInterfaces, type NetInterface } from "./interfaces.ts";
import { attachClsact, attachTcx, detachClsact, queryClsact, tcxUnsupported, type TcMode } from "./tc.ts";

/**
 * XDP in generic (skb) mode: works on every driver and never makes a NIC reconfigure its queues
 * (native attach resets some drivers' links); it runs after the skb is built, which is cheap
 * next to what it protects (a few ports).
 */
const XDP_FLAGS_SKB_MODE = 2;

export const TC_PROGRAM = "sluice_tc_egress";
export const XDP_PROGRAM = "sluice_xdp_ingress";
/** Programs attachKernel pins under `<pinDir>/progs/` for the guard. */
export const NETDEV_PROGRAMS = [TC_PROGRAM, XDP_PROGRAM] as const;

export interface InterfaceGuard {
  readonly name: string;
  readonly ifindex: number;
  /** How TC egress is attached, or why not. */
  readonly tc: TcMode | "failed";
  readonly xdp: "attached" | "failed";
  readonly errors: readonly string[];
}

export interface NetdevStatus {
  readonly interfaces: readonly InterfaceGuard[];
  /** True when every guarded interface has both programs. */
  readonly complete: boolean;
}

export interface NetdevGuardOptions {
  pinDir: string;
  logger: Logger;
  /** Interface names to guard; undefined = every non-loopback interface. */
  interfaces?: readonly string[];
  /** How often to look for new or removed interfaces (default 2000 ms; 0 = never, reconcile() only). */
  pollMs?: number;
  /** `auto` (default): tcx where the kernel has it, else cls_bpf; `clsact`: always cls_bpf. */
  tc?: "auto" | "clsact";
}

const netDir = (pinDir: string) => join(pinDir, "net");
const progPath = (pinDir: string, name: string) => join(pinDir, "progs", name);

/** ifindex a pinned link is attached to (0 once its interface is gone), from fdinfo. */
function linkIfindex(path: string): number {
  const fd = objGet(path);
  try {
    return Number(bpfFdInfo(fd).fields.ifindex ?? 0);
  } finally {
    closeSync(fd);
  }
}

function removeLinkPin(path: string): void {
  const fd = objGet(path);
  try {
    linkDetach(fd, path);
  } finally {
    closeSync(fd);
  }
  unlinkSync(path);
}

export class NetdevGuard {
  #status: NetdevStatus = { interfaces: [], complete: true };
  #timer: ReturnType<typeof setInterval> | undefined;
  #reported = new Set<string>();
  #first = true;

  constructor(private readonly options: NetdevGuardOptions) {}

  status(): NetdevStatus {
    return this.#status;
  }

  /** Attaches to interfaces without sluice's programs and removes pins of vanished ones. */
  reconcile(): NetdevStatus {
    const { pinDir } = this.options;
    const dir = netDir(pinDir);
    mkdirSync(dir, { recursive: true });
    const ifaces = guardedInterfaces(this.options.interfaces);
    const byName = new Map(ifaces.map((i) => [i.name, i]));
    this.#prune(dir, byName);
    const tcFd = objGet(progPath(pinDir, TC_PROGRAM));
    const xdpFd = objGet(progPath(pinDir, XDP_PROGRAM));
    try {
      const guards = ifaces.map((i) => this.#guard(dir, i, tcFd, xdpFd));
      this.#status = { interfaces: guards, complete: guards.every((g) => g.tc !== "failed" && g.xdp !== "failed") };
    } finally {
      closeSync(tcFd);
      closeSync(xdpFd);
    }
    this.#first = false;
    return this.#status;
  }

  start(): this {
    this.reconcile();
    const every = this.options.pollMs ?? 2000;
    if (every > 0) {
      this.#timer = setInterval(() => {
        try {
          this.reconcile();
        } catch (err) {
          this.#report("reconcile", "interface guard failed; retrying", { error: err });
        }
      }, every);
      this.#timer.unref?.();
    }
    return this;
  }

  /** Stops polling; the attachments stay (they outlive the daemon). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #prune(dir: string, current: ReadonlyMap<string, NetInterface>): void {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const dash = entry.indexOf("-");
      if (dash <= 0) continue; // not one of ours
      const kind = entry.slice(0, dash);
      const name = entry.slice(dash + 1);
      const iface = current.get(name);
      if (kind === "clsact") {
        if (!iface || queryClsact(iface.index) === undefined) unlinkSync(path);
        continue;
      }
      if (!iface || linkIfindex(path) !== iface.index) {
        removeLinkPin(path);
        this.options.logger.info("interface gone or renamed: removed its attachment", { pin: entry });
      }
    }
  }

  #guard(dir: string, iface: NetInterface, tcFd: number, xdpFd: number): InterfaceGuard {
    const errors: string[] = [];
    let tc: InterfaceGuard["tc"] = "failed";
    const tcxPin = join(dir, `tc-${iface.name}`);
    const clsactPin = join(dir, `clsact-${iface.name}`);
    try {
      if (existsSync(tcxPin)) tc = "tcx";
      else if (existsSync(clsactPin) && !this.#first) tc = "clsact";
      else tc = this.#attachTc(iface, tcFd, tcxPin, clsactPin);
    } catch (err) {
      errors.push(`tc egress: ${err instanceof Error ? err.message : String(err)}`);
      this.#report(`tc:${iface.name}`, "cannot attach TC egress: packets of managed workloads on this interface are not checked (the connect/sendmsg hooks still are)", { interface: iface.name, error: err });
    }
    let xdp: InterfaceGuard["xdp"] = "failed";
    const xdpPin = join(dir, `xdp-${iface.name}`);
    try {
      if (!existsSync(xdpPin)) {
        const fd = linkCreate(xdpFd, iface.index, AttachType.XDP, XDP_FLAGS_SKB_MODE);
        try {
          objPin(fd, xdpPin);
        } finally {
          closeSync(fd);
        }
      }
      xdp = "attached";
    } catch (err) {
      errors.push(`xdp ingress: ${err instanceof Error ? err.message : String(err)}`);
      this.#report(`xdp:${iface.name}`, "cannot attach XDP ingress: protected local ports are reachable directly on this interface", { interface: iface.name, error: err });
    }
    return { name: iface.name, ifindex: iface.index, tc, xdp, errors };
  }

  #attachTc(iface: NetInterface, tcFd: number, tcxPin: string, clsactPin: string): TcMode {
    if (this.options.tc !== "clsact") {
      try {
        const fd = attachTcx(tcFd, iface);
        try {
          objPin(fd, tcxPin);
        } finally {
          closeSync(fd);
        }
        return "tcx";
      } catch (err) {
        if (!tcxUnsupported(err)) throw err;
      }
    }
    attachClsact(tcFd, iface);
    if (!existsSync(clsactPin)) objPin(tcFd, clsactPin);
    return "clsact";
  }

  #report(key: string, msg: string, fields: Record<string, unknown>): void {
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.options.logger.warn(msg, fields);
  }
}

/**
 * Removes every attachment recorded under `<pinDir>/net/`: cls_bpf filters by their marker (the
 * links are detached by detachAll like any other). Called by detachAll before it unpins.
 */
export function detachNetdevFilters(pinDir: string, ifindexOf: (name: string) => number | undefined): string[] {
  const dir = netDir(pinDir);
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith("clsact-")) continue;
    const name = entry.slice("clsact-".length);
    const index = ifindexOf(name);
    if (index !== undefined && detachClsact(index, name)) removed.push(name);
  }
  return removed;
}

export interface PinnedInterface {
  readonly name: string;
  readonly tc: TcMode | "none";
  readonly xdp: boolean;
}

/** What `<pinDir>/net/` records, per interface (for `sluice kernel status`; no daemon needed). */
export function readNetdevPins(pinDir: string): PinnedInterface[] {
  const dir = netDir(pinDir);
  if (!existsSync(dir)) return [];
  const byName = new Map<string, { tc: TcMode | "none"; xdp: boolean }>();
  for (const entry of readdirSync(dir)) {
    const dash = entry.indexOf("-");
    if (dash <= 0) continue;
    const kind = entry.slice(0, dash);
    const name = entry.slice(dash + 1);
    const cur = byName.get(name) ?? { tc: "none", xdp: false };
    if (kind === "tc") cur.tc = "tcx";
    else if (kind === "clsact") cur.tc = "clsact";
    else if (kind === "xdp") cur.xdp = true;
    byName.set(name, cur);
  }
  return [...byName.entries()].map(([name, v]) => ({ name, ...v })).sort((a, b) => a.name.localeCompare(b.name));
}
