/**
 * What this host offers for kernel enforcement, read from /proc and /sys (no BPF calls): the
 * doctor lines for root/capabilities, BTF, cgroup v2, bpffs, tcx, the interfaces TC/XDP guard, and kTLS. Each says what sluice does
 * without the feature; none of them can make sluice fail open silently.
 */
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import type { DoctorCheck } from "../doctor/index.ts";
import { findCgroupV2Mount } from "../identity/index.ts";
import { guardedInterfaces } from "./netdev/interfaces.ts";

/** Whether the kernel has tcx (Linux ≥ 6.6): its BTF then names the attach type. */
export function kernelHasTcx(btf = "/sys/kernel/btf/vmlinux"): boolean | undefined {
  if (!existsSync(btf)) return undefined;
  return readFileSync(btf).includes("BPF_TCX_EGRESS");
}

const CAP = { NET_ADMIN: 12, SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;

export function effectiveCapabilities(status = readFileSync("/proc/self/status", "utf8")): bigint {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}

function has(caps: bigint, bit: number): boolean {
  return ((caps >> BigInt(bit)) & 1n) === 1n;
}

export function bpffsMounted(path = "/sys/fs/bpf", mounts = readFileSync("/proc/mounts", "utf8")): boolean {
  return mounts.split("\n").some((l) => {
    const [, where, type] = l.split(" ");
    return type === "bpf" && where === path;
  });
}

export const hostProbeChecks: readonly DoctorCheck[] = [
  {
    name: "capabilities",
    run() {
      const caps = effectiveCapabilities();
      const bpf = has(caps, CAP.BPF) || has(caps, CAP.SYS_ADMIN);
      const net = has(caps, CAP.NET_ADMIN);
      if (bpf && net) return { status: "ok", message: "CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN are effective" };
      return { status: "fail", message: `missing ${[bpf ? "" : "CAP_BPF", net ? "" : "CAP_NET_ADMIN"].filter(Boolean).join(" and ")}`, fix: "run sluice serve as root; without them nothing is enforced in the kernel (sluice serve says so at start)" };
    },
  },
  {
    name: "BTF",
    run() {
      if (existsSync("/sys/kernel/btf/vmlinux")) return { status: "ok", message: `kernel ${release()} exposes BTF (/sys/kernel/btf/vmlinux): CO-RE programs load` };
      return { status: "fail", message: `kernel ${release()} has no /sys/kernel/btf/vmlinux`, fix: "use a kernel built with CONFIG_DEBUG_INFO_BTF (Debian 12's stock kernel has it); without BTF the BPF programs cannot load and nothing is enforced" };
    },
  },
  {
    name: "cgroup v2",
    run() {
      const mount = findCgroupV2Mount();
      if (mount) return { status: "ok", message: `mounted at ${mount.mountPoint}${mount.mountPoint !== "/sys/fs/cgroup" ? " (hybrid layout)" : ""}` };
      return { status: "fail", message: "no cgroup2 mount in /proc/self/mountinfo", fix: "mount cgroup2 (systemd does on Debian 12); the connect hooks attach to a cgroup v2 and cannot work without one" };
    },
  },
  {
    name: "bpffs",
    run() {
      if (bpffsMounted()) return { status: "ok", message: "mounted at /sys/fs/bpf: pinned enforcement survives a daemon restart" };
      return { status: "ok", message: "not mounted at /sys/fs/bpf; sluice serve mounts it before pinning" };
    },
  },
  {
    name: "tcx",
    run() {
      const tcx = kernelHasTcx();
      if (tcx === undefined) return { status: "warn", message: "not probed: no BTF to read the kernel's attach types from" };
      if (tcx) return { status: "ok", message: `kernel ${release()} has tcx: TC egress attaches as pinned links (kept while sluice is down, adopted on restart)` };
      return {
        status: "ok",
        message: `kernel ${release()} has no tcx (Linux < 6.6): TC egress attaches as a cls_bpf filter on each interface's clsact qdisc instead`,
        fix: "nothing to do: the filter stays while sluice is down and sluice kernel detach removes it; `tc filter show dev IF egress` shows it",
      };
    },
  },
  {
    name: "interfaces",
    run() {
      const ifaces = guardedInterfaces();
      if (ifaces.length === 0) return { status: "warn", message: "no non-loopback interface: nothing for TC egress / XDP ingress to guard (the cgroup hooks still enforce connect and sendmsg)" };
      return {
        status: "ok",
        message: `sluice serve guards ${ifaces.map((i) => i.name).join(", ")} (and interfaces added later) with TC egress and XDP ingress (generic mode); loopback never. Where an attach fails, serve logs it per interface and sluice kernel status shows it: raw-socket traffic of managed workloads there is then checked only by the connect/sendmsg hooks, and protected ports are reachable directly`,
      };
    },
  },
  {
    name: "kTLS",
    run() {
      const ulps = existsSync("/proc/sys/net/ipv4/tcp_available_ulp") ? readFileSync("/proc/sys/net/ipv4/tcp_available_ulp", "utf8").trim().split(/\s+/) : [];
      if (ulps.includes("tls")) return { status: "ok", message: "TCP_ULP \"tls\" is available" };
      const modular = existsSync(`/lib/modules/${release()}/kernel/net/tls`);
      if (modular) return { status: "ok", message: "the tls module is not loaded but can be (modprobe tls)" };
      return { status: "warn", message: "no kernel TLS (TCP_ULP \"tls\" unavailable)", fix: "only matters for the injection proxy (not built yet), which will then relay TLS in userspace: same protection, more CPU per byte" };
    },
  },
];
