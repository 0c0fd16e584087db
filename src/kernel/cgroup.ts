/**
 * The cgroup v2 hierarchy the connect/sendmsg hooks attach to. Found in /proc/self/mountinfo
 * (identity's findCgroupV2Mount), never assumed: /sys/fs/cgroup on a pure v2 host,
 * /sys/fs/cgroup/unified on a hybrid one like these machines.
 */
import { statSync } from "node:fs";
import { findCgroupV2Mount } from "../identity/index.ts";
import { KernelError } from "./errors.ts";

/** The directory where cgroup2 is mounted; ERR_BPF_CGROUP when there is none. */
export function cgroupV2Root(mountinfo?: string): string {
  const mount = mountinfo === undefined ? findCgroupV2Mount() : findCgroupV2Mount(mountinfo);
  if (!mount) throw new KernelError("ERR_BPF_CGROUP", "findCgroupV2Mount", "no cgroup2 file system is mounted (see /proc/self/mountinfo): the connect hooks need cgroup v2");
  return mount.mountPoint;
}

/** A cgroup's id as bpf_get_current_cgroup_id() reports it: its directory's inode number. */
export function cgroupId(dir: string): bigint {
  return statSync(dir, { bigint: true }).ino;
}
