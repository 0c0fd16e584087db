/**
 * Attaching the TC egress program to one interface: a tcx link (Linux ≥ 6.6, pinned so it
 * outlives the daemon) or, where the kernel has no tcx (Debian 12's 6.1), a cls_bpf filter in
 * direct-action mode on a clsact qdisc. A filter is not a link and cannot be pinned, but it holds
 * the program and stays on the interface while sluice is down; sluice marks it with a pin of the
 * program at `net/clsact-<ifname>` so that `kernel detach` knows to remove it.
 */
import { KernelError } from "../errors.ts";
import { checkInt } from "../libbpf/check.ts";
import { AttachType } from "../libbpf/constants.ts";
import { EEXIST, EINVAL, ENOENT } from "../libbpf/errno.ts";
import { loadLibbpf } from "../libbpf/load.ts";
import { TC_F_REPLACE, TC_OPTS_LAYOUT, TcAttachPoint, tcHook, tcOpts } from "../libbpf/opts.ts";
import { linkCreate } from "../libbpf/syscalls.ts";
import type { NetInterface } from "./interfaces.ts";

export type TcMode = "tcx" | "clsact";

/** sluice's cls_bpf filter: fixed handle and priority, so a restart replaces it in place. */
export const CLSACT_HANDLE = 0x51c3;
export const CLSACT_PRIORITY = 0x51c3 & 0x7fff;

/** tcx: a new link fd (the caller pins it). Throws ERR_BPF_ATTACH; `tcxUnsupported(err)` tells a kernel without tcx. */
export function attachTcx(progFd: number, iface: NetInterface): number {
  try {
    return linkCreate(progFd, iface.index, AttachType.TCX_EGRESS);
  } catch (err) {
    if (err instanceof KernelError) throw KernelError.fromErrno("ERR_BPF_ATTACH", "bpf_link_create", err.errnoNumber ?? EINVAL, { subject: `tcx egress ${iface.name}` });
    throw err;
  }
}

/** A kernel older than 6.6 rejects the tcx attach type with EINVAL. */
export function tcxUnsupported(err: unknown): boolean {
  return err instanceof KernelError && err.errno === "EINVAL";
}

/** cls_bpf (direct action) on the interface's clsact egress hook; replaces sluice's earlier filter there. */
export function attachClsact(progFd: number, iface: NetInterface): void {
  const sym = loadLibbpf().sym;
  const hook = tcHook(iface.index, TcAttachPoint.EGRESS);
  const rc = sym.bpf_tc_hook_create(hook.bytes);
  if (rc < 0 && rc !== -EEXIST /* the clsact qdisc is there already */) checkInt("ERR_BPF_ATTACH", "bpf_tc_hook_create", rc, { subject: `clsact ${iface.name}` });
  const opts = tcOpts({ handle: CLSACT_HANDLE, priority: CLSACT_PRIORITY, progFd, flags: TC_F_REPLACE });
  checkInt("ERR_BPF_ATTACH", "bpf_tc_attach", sym.bpf_tc_attach(hook.bytes, opts.bytes), { subject: `cls_bpf egress ${iface.name}` });
}

/** The program id of sluice's cls_bpf filter on the interface, or undefined. */
export function queryClsact(ifindex: number): number | undefined {
  const hook = tcHook(ifindex, TcAttachPoint.EGRESS);
  const opts = tcOpts({ handle: CLSACT_HANDLE, priority: CLSACT_PRIORITY });
  const rc = loadLibbpf().sym.bpf_tc_query(hook.bytes, opts.bytes);
  if (rc < 0) return undefined;
  return opts.view.getUint32(TC_OPTS_LAYOUT.prog_id, true);
}

/** Removes sluice's cls_bpf filter (false if it was not there). The clsact qdisc stays (others may use it). */
export function detachClsact(ifindex: number, name: string): boolean {
  const hook = tcHook(ifindex, TcAttachPoint.EGRESS);
  const opts = tcOpts({ handle: CLSACT_HANDLE, priority: CLSACT_PRIORITY });
  const rc = loadLibbpf().sym.bpf_tc_detach(hook.bytes, opts.bytes);
  if (rc === -ENOENT || rc === -EINVAL) return false;
  checkInt("ERR_BPF_ATTACH", "bpf_tc_detach", rc, { subject: `cls_bpf egress ${name}` });
  return true;
}
