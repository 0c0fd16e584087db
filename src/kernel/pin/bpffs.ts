/**
 * bpffs: where sluice pins its links and maps so enforcement outlives the daemon. Not mounted by
 * default on every host: `ensureBpffs()` mounts it at /sys/fs/bpf with mount(2) through bun:ffi —
 * not by spawning mount(8) — so the binary needs nothing on the host but libc, and a failure
 * carries the exact errno. The mount goes into the caller's mount namespace (a systemd unit with
 * a private /sys would see it only inside; sluice's unit does not make /sys private).
 */
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { KernelError } from "../errors.ts";
import { cString, lastErrno, libc } from "../libbpf/libc.ts";

export const BPFFS_ROOT = "/sys/fs/bpf";
/** The pin directory of the running sluice: links and maps by name (kernel contract). */
export const SLUICE_PIN_DIR = "/sys/fs/bpf/sluice";

interface Mount {
  mountPoint: string;
  fstype: string;
}

function mounts(): Mount[] {
  const out: Mount[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    const dash = f.indexOf("-");
    const mountPoint = f[4];
    const fstype = f[dash + 1];
    if (dash < 6 || mountPoint === undefined || fstype === undefined) continue;
    out.push({ mountPoint: mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), fstype });
  }
  return out;
}

/** The file system type of the mount holding `path` (the last, i.e. topmost, longest-prefix mount). */
export function fsTypeOf(path: string): string | undefined {
  let best: Mount | undefined;
  for (const m of mounts()) {
    const prefix = m.mountPoint === "/" ? "/" : `${m.mountPoint}/`;
    if (path !== m.mountPoint && !path.startsWith(prefix)) continue;
    if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best?.fstype;
}

export function isBpffsMounted(path: string = BPFFS_ROOT): boolean {
  return mounts().some((m) => m.mountPoint === path && m.fstype === "bpf");
}

/** Mounts bpffs at `path` unless one is there already; says whether it mounted. */
export function ensureBpffs(path: string = BPFFS_ROOT): { mounted: boolean } {
  if (isBpffsMounted(path)) return { mounted: false };
  mkdirSync(path, { recursive: true });
  const rc = libc().mount(cString("bpf"), cString(path), cString("bpf"), 0, null);
  if (rc !== 0) {
    throw KernelError.fromErrno("ERR_BPF_FS", "mount", lastErrno(), { subject: `bpf at ${path}`, hint: "sluice needs root (CAP_SYS_ADMIN) to mount bpffs" });
  }
  return { mounted: true };
}

/**
 * A pin directory (mode 0700) on a bpffs, mounting bpffs at /sys/fs/bpf first when the
 * directory is under it. A directory on any other file system is refused: a pin there fails.
 */
export function ensurePinDir(dir: string = SLUICE_PIN_DIR): string {
  if (dir === BPFFS_ROOT || dir.startsWith(`${BPFFS_ROOT}/`)) ensureBpffs(BPFFS_ROOT);
  const fstype = fsTypeOf(dir);
  if (fstype !== "bpf") {
    throw new KernelError("ERR_BPF_FS", "mkdir", `${dir} is not on a bpffs (it is on ${fstype ?? "nothing mounted"}): pins need bpffs (mount -t bpf bpf <dir>)`);
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new KernelError("ERR_BPF_FS", "mkdir", `cannot create pin directory ${dir}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!statSync(dir).isDirectory()) throw new KernelError("ERR_BPF_FS", "mkdir", `${dir} exists and is not a directory`);
  return dir;
}
