/** What attestation knows about a process (DESIGN §2 step 1, §6). JSON-safe. */
import type { ExeHash } from "./exe-hash.ts";

/** A process named so that a recycled pid cannot pass for it. */
export interface ProcessRef {
  readonly pid: number;
  /** Clock ticks after boot (/proc/PID/stat field 22). */
  readonly startTime: number;
  /**
   * Inode of a pidfd for the process on kernels with pidfs (6.9+): unique for the boot, so it
   * tells apart two processes that got the same pid within one clock tick. Absent elsewhere.
   */
  readonly pidfdInode?: number;
}

export interface ProcessFacts extends ProcessRef {
  readonly ppid: number;
  /**
   * Effective uid: what the kernel checks permissions with and what SO_PEERCRED reports, so the
   * `process:uid`/`process:user` selectors match it. The real uid is kept for display.
   */
  readonly uid: number;
  readonly realUid: number;
  /** Effective gid (matched by `process:gid`/`process:group`). */
  readonly gid: number;
  readonly realGid: number;
  /** Local account name of the effective uid (/etc/passwd), if it has one. */
  readonly user?: string;
  /** Local group name of the effective gid (/etc/group), if it has one. */
  readonly group?: string;
  /** Supplementary groups (not matched by any selector; shown by `sluice identify`). */
  readonly supplementaryGids: readonly number[];
  /** Names aligned with `supplementaryGids`; null where /etc/group has none. */
  readonly supplementaryGroups: readonly (string | null)[];
  /** Name (comm, ≤ 15 bytes): set by the process itself, so weak. */
  readonly comm: string;
  /** argv: the process can rewrite it, so weak. */
  readonly cmdline: readonly string[];
  /** True when the command line was longer than the read limit and was cut. */
  readonly cmdlineTruncated: boolean;
  /** Kernel threads have no executable, no hash, no command line. */
  readonly kernelThread: boolean;
  /**
   * Path of the executable as the kernel recorded it at exec (symlinks resolved), from
   * readlink /proc/PID/exe, without the ` (deleted)` suffix. For a script this is the
   * interpreter (`/usr/bin/dash`, `/usr/bin/python3.11`), never the script.
   */
  readonly exePath?: string;
  /** The executable was unlinked (or replaced by a rename) after the process started it. */
  readonly exeDeleted: boolean;
  /** statx of /proc/PID/exe: the file itself, even when deleted. dev_t as glibc's makedev(). */
  readonly exeDevice?: number;
  readonly exeInode?: number;
  readonly exeSize?: number;
  /** Hash outcome; `none` for kernel threads. */
  readonly exeHash: ExeHash | { readonly status: "none" };
  /** Lowercase hex sha256 of the executable's content, when hashed. */
  readonly exeSha256?: string;
  /** cgroup v2 path (the `0::` line of /proc/PID/cgroup), relative to sluice's cgroup namespace. */
  readonly cgroupPath?: string;
  /** The system manager's unit (first `*.service`/`*.scope` on the cgroup path); see systemd.ts. */
  readonly systemdUnit?: string;
  /** Slices above that unit (a `.slice` value of `systemd:unit` matches one of them). */
  readonly systemdSlices: readonly string[];
  /** Deepest unit under `user@UID.service` (informational; never matched). */
  readonly systemdUserUnit?: string;
  /** When the facts were read (ms since the epoch). */
  readonly readAt: number;
}
