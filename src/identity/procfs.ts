/**
 * Parsers for the procfs files attestation reads (pure functions over their text, so the odd
 * cases — a comm with spaces and parentheses, an empty Groups line, a hybrid cgroup layout — are
 * unit-tested without a process). See proc(5).
 */

/** The parts of /proc/PID/stat sluice uses. */
export interface StatFields {
  /** Field 2, without the parentheses; up to 15 bytes, chosen by the process (prctl PR_SET_NAME). */
  comm: string;
  /** Field 3: R, S, D, Z (zombie), X (dead)… */
  state: string;
  /** Field 4. */
  ppid: number;
  /** Field 9: PF_* flags (PF_KTHREAD = 0x00200000 marks a kernel thread). */
  flags: number;
  /** Field 22: clock ticks after boot when the process started. */
  startTime: number;
}

export const PF_KTHREAD = 0x00200000;

/**
 * Parse /proc/PID/stat. The comm (field 2) may contain spaces, parentheses and newlines; every
 * field after it is numeric or a single letter, so the comm ends at the LAST ')'.
 */
export function parseStat(text: string): StatFields | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  // Fields 3.. follow ") ", space separated.
  const rest = text.slice(close + 2).split(" ");
  const state = rest[0];
  const ppid = Number(rest[1]);
  const flags = Number(rest[6]);
  const startTime = Number(rest[19]);
  if (state === undefined || state.length !== 1) return undefined;
  if (!Number.isSafeInteger(ppid) || !Number.isSafeInteger(flags) || !Number.isSafeInteger(startTime) || startTime < 0) return undefined;
  return { comm: text.slice(open + 1, close), state, ppid, flags, startTime };
}

/** Real, effective, saved set and filesystem ids (the four columns of Uid:/Gid:). */
export interface IdSet {
  real: number;
  effective: number;
  saved: number;
  fs: number;
}

export interface StatusFields {
  tgid: number;
  uid: IdSet;
  gid: IdSet;
  /** Supplementary group ids (Groups:), possibly empty. */
  groups: number[];
}

/** Parse the Tgid, Uid, Gid and Groups lines of /proc/PID/status. */
export function parseStatus(text: string): StatusFields | undefined {
  let tgid: number | undefined;
  let uid: IdSet | undefined;
  let gid: IdSet | undefined;
  let groups: number[] | undefined;
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === "Tgid") tgid = Number(value);
    else if (key === "Uid") uid = idSet(value);
    else if (key === "Gid") gid = idSet(value);
    else if (key === "Groups") groups = value === "" ? [] : value.split(/\s+/).map(Number);
  }
  if (tgid === undefined || !Number.isSafeInteger(tgid) || !uid || !gid || !groups) return undefined;
  if (!groups.every((g) => Number.isSafeInteger(g) && g >= 0)) return undefined;
  return { tgid, uid, gid, groups };
}

function idSet(value: string): IdSet | undefined {
  const ids = value.split(/\s+/).map(Number);
  if (ids.length !== 4 || !ids.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  const [real, effective, saved, fs] = ids as [number, number, number, number];
  return { real, effective, saved, fs };
}

export interface CgroupFields {
  /** Path in the cgroup v2 (unified) hierarchy: the `0::/…` line. */
  v2?: string;
  /** Paths in v1 hierarchies by controller list (`name=systemd`, `memory`, `cpu,cpuacct`…). */
  v1: Map<string, string>;
}

/** Parse /proc/PID/cgroup (`hierarchy-ID:controller-list:path`; the path may contain ':'). */
export function parseCgroup(text: string): CgroupFields {
  const out: CgroupFields = { v1: new Map() };
  for (const line of text.split("\n")) {
    const a = line.indexOf(":");
    const b = a < 0 ? -1 : line.indexOf(":", a + 1);
    if (b < 0) continue;
    const id = line.slice(0, a);
    const controllers = line.slice(a + 1, b);
    const path = line.slice(b + 1);
    if (id === "0" && controllers === "") out.v2 = path;
    else out.v1.set(controllers, path);
  }
  return out;
}

/**
 * argv from /proc/PID/cmdline: NUL-separated, normally NUL-terminated. A process that rewrote its
 * argv (setproctitle) may leave no trailing NUL or use spaces: taken as it is.
 */
export function parseCmdline(bytes: Uint8Array): string[] {
  if (bytes.length === 0) return [];
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  const parts = text.split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

export interface MountInfo {
  /** Path inside the filesystem that is mounted (e.g. "/" or a cgroup namespace root). */
  root: string;
  mountPoint: string;
  fstype: string;
}

/** Parse /proc/self/mountinfo (proc(5)): `id parent maj:min root mountpoint opts [optional…] - fstype source superopts`. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6) continue;
    const root = fields[3];
    const mountPoint = fields[4];
    const fstype = fields[dash + 1];
    if (root === undefined || mountPoint === undefined || fstype === undefined) continue;
    out.push({ root: unescapeOctal(root), mountPoint: unescapeOctal(mountPoint), fstype });
  }
  return out;
}

/** Mount tables escape space, tab, newline and backslash as \ooo. */
export function unescapeOctal(s: string): string {
  return s.includes("\\") ? s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) : s;
}

/** A deleted executable's link reads `<path> (deleted)`; the suffix is removed only when the file really is unlinked. */
export const DELETED_SUFFIX = " (deleted)";
