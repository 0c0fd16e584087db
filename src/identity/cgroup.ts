/**
 * Where the cgroup v2 (unified) hierarchy is mounted, read from /proc/self/mountinfo — never
 * assumed: a pure v2 host has it at /sys/fs/cgroup, a hybrid one (like these CI machines) at
 * /sys/fs/cgroup/unified, a container wherever its runtime put it.
 */
import { readFileSync } from "node:fs";
import { parseMountinfo } from "./procfs.ts";

export interface CgroupV2Mount {
  /** Directory where the hierarchy is mounted, e.g. `/sys/fs/cgroup/unified`. */
  mountPoint: string;
  /** The cgroup shown at the mount point ("/" unless mounted from inside a cgroup namespace). */
  root: string;
}

/** The first cgroup2 mount, or undefined on a host without cgroup v2. */
export function findCgroupV2Mount(mountinfo: string = readFileSync("/proc/self/mountinfo", "utf8")): CgroupV2Mount | undefined {
  const m = parseMountinfo(mountinfo).find((e) => e.fstype === "cgroup2");
  return m ? { mountPoint: m.mountPoint, root: m.root } : undefined;
}

/** The directory of cgroup `path` (as /proc/PID/cgroup writes it) under `mount`, if it is visible there. */
export function cgroupDirectory(mount: CgroupV2Mount, path: string): string | undefined {
  const root = mount.root === "/" ? "" : mount.root.replace(/\/$/, "");
  if (root !== "" && path !== root && !path.startsWith(`${root}/`)) return undefined;
  const rel = path.slice(root.length);
  return rel === "" || rel === "/" ? mount.mountPoint : `${mount.mountPoint.replace(/\/$/, "")}${rel}`;
}
