/**
 * readProcessFacts(pid): everything selectors match on, read from procfs in a way that a recycled
 * pid cannot fool (DESIGN §6: races closed with pidfds and start times, not sleeps):
 *
 * 1. pidfd_open(pid) FIRST: the fd is bound to the process, not to the number.
 * 2. Read /proc/PID/stat (start time), exe (readlink, open, statx of the open file), cmdline,
 *    status, cgroup (in that order: see readOnce).
 * 3. Re-check: statx /proc/PID/exe is still the same file and argv is there (else the process is
 *    exec'ing: wait and read again, for up to ~130 ms), /proc/PID/stat has the same start time (else
 *    the pid now names another process: ERR_PID_REUSED), and the pidfd says the process is alive
 *    (else it exited: ERR_PROCESS_GONE). While a process lives its pid cannot be reused, so every
 *    path read in step 2 was about the process opened in step 1.
 * 4. Hash the executable through the fd opened in step 2 (pinned to that inode, whatever happens
 *    to the pid or the path afterwards).
 */
import { existsSync, openSync, readFileSync, readlinkSync, readSync, closeSync, constants } from "node:fs";
import { AccountNames } from "./accounts.ts";
import { ProcessAccessError, ProcessChangedError, ProcessGoneError, ProcessInvalidError, ProcfsError, PidReusedError } from "./errors.ts";
import { DEFAULT_HASH_LIMITS, ExeHashCache, type ExeHash } from "./exe-hash.ts";
import { DELETED_SUFFIX, parseCgroup, parseCmdline, parseStat, parseStatus, PF_KTHREAD, type StatFields } from "./procfs.ts";
import { closeFd, EINVAL, ENOENT, ESRCH, pidfdAlive, pidfdInodesUnique, pidfdOpen, Statx, SysError, type StatxResult } from "./sys.ts";
import { systemdFromCgroup } from "./systemd.ts";
import type { ProcessFacts, ProcessRef } from "./types.ts";

export interface FactsOptions {
  /** Executables larger than this are not hashed (facts say `too-large`). Default 256 MiB. */
  hashLimitBytes?: number;
  /** A hash taking longer is abandoned (facts say `timeout`). Default 2000 ms. */
  hashTimeoutMs?: number;
  /** Read at most this much of /proc/PID/cmdline. Default 32 KiB. */
  cmdlineLimitBytes?: number;
  /** The process the caller means: a different one at this pid is ERR_PID_REUSED. */
  expect?: { startTime: number; pidfdInode?: number };
  /**
   * A pidfd the caller already holds for this pid (e.g. SO_PEERPIDFD from a unix socket, which
   * names the peer exactly); used instead of opening one, and not closed.
   */
  pidfd?: number;
  /** Shared caches (an Attestor passes its own). */
  accounts?: AccountNames;
  hashes?: ExeHashCache;
}

export const DEFAULT_CMDLINE_LIMIT = 32 * 1024;
/** Waits between reads of a process caught exec'ing (ms; 0 = a turn of the event loop): ~130 ms in all. */
const EXEC_BACKOFF_MS = [0, 1, 2, 4, 8, 16, 32, 64];

/** Facts of one process; throws IdentityError (ERR_PROCESS_GONE, ERR_PID_REUSED…) rather than guess. */
export async function readProcessFacts(pid: number, options: FactsOptions = {}): Promise<ProcessFacts> {
  const r = await readFactsKeepingPidfd(pid, options);
  if (r.ownsPidfd) closeFd(r.pidfd);
  return r.facts;
}

export interface FactsWithPidfd {
  facts: ProcessFacts;
  /** Open pidfd of the process; the caller closes it when `ownsPidfd`. */
  pidfd: number;
  ownsPidfd: boolean;
}

/** readProcessFacts, handing over the pidfd (the Attestor keeps it to validate cached facts). */
export async function readFactsKeepingPidfd(pid: number, options: FactsOptions = {}): Promise<FactsWithPidfd> {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new TypeError(`pid must be a positive integer, got ${String(pid)}`);
  const ownsPidfd = options.pidfd === undefined;
  const pidfd = options.pidfd ?? openPidfd(pid);
  try {
    if (!ownsPidfd) checkPidfdNames(pidfd, pid);
    const statx = new Statx();
    const pidfdInode = pidfdInodesUnique() ? statx.fd(pidfd).ino : undefined;
    const expect = options.expect;
    if (expect?.pidfdInode !== undefined && pidfdInode !== undefined && expect.pidfdInode !== pidfdInode)
      throw new PidReusedError(pid, expect.startTime, readStat(pid).startTime, "pidfd inode");
    for (let attempt = 1; ; attempt++) {
      const snap = readOnce(pid, pidfd, statx, options);
      if (snap === "exec") {
        const wait = EXEC_BACKOFF_MS[attempt - 1];
        if (wait === undefined) throw new ProcessChangedError(pid, attempt);
        // Give the exec time to finish, then read again. Correctness never depends on this wait:
        // a half-exec'd process is detected and re-read, never attributed; the wait only bounds
        // how long sluice keeps trying.
        await new Promise<void>((resolve) => (wait === 0 ? setImmediate(resolve) : setTimeout(resolve, wait)));
        continue;
      }
      const exeHash = snap.exe ? await hashExe(snap.exe.fd, snap.exe.st, options) : ({ status: "none" } as const);
      const facts: ProcessFacts = Object.freeze({
        ...snap.facts,
        ...(pidfdInode !== undefined ? { pidfdInode } : {}),
        exeHash,
        ...(exeHash.status === "ok" ? { exeSha256: exeHash.sha256 } : {}),
      });
      return { facts, pidfd, ownsPidfd };
    }
  } catch (err) {
    if (ownsPidfd) closeFd(pidfd);
    throw err;
  }
}

type BaseFacts = Omit<ProcessFacts, "exeHash" | "exeSha256" | "pidfdInode">;
interface Snapshot {
  facts: BaseFacts;
  exe?: { fd: number; st: StatxResult };
}

/**
 * One consistent read (steps 2 and 3), or "exec" when the process is exec'ing: its executable
 * changed between the first and the last look, or its command line is still empty. The order
 * matters: during execve the kernel switches the executable first, then sets comm and the
 * credentials, and fills argv last. So argv is read before the credentials (status) and comm is
 * taken from the LAST stat read: once argv is there, both are final.
 */
function readOnce(pid: number, pidfd: number, statx: Statx, options: FactsOptions): Snapshot | "exec" {
  const stat = readStat(pid);
  if (options.expect && options.expect.startTime !== stat.startTime) throw new PidReusedError(pid, options.expect.startTime, stat.startTime);
  if (stat.state === "Z" || stat.state === "X") throw new ProcessGoneError(pid, "the process exited (zombie, not yet reaped)");
  const kernelThread = (stat.flags & PF_KTHREAD) !== 0;

  let exe: { fd: number; st: StatxResult; link: string } | undefined;
  try {
    if (!kernelThread) exe = openExe(pid, statx);
    const cmd = readCmdline(pid, options.cmdlineLimitBytes ?? DEFAULT_CMDLINE_LIMIT);
    // A user process always has argv (Linux ≥ 5.18 inserts "" for an empty one): none yet means
    // mid-exec, or exiting (its memory is gone). Before 5.18 a process exec'd with argc = 0 stays
    // unattestable (ERR_PROCESS_CHANGED): failing closed beats reading half an exec.
    if (cmd.argv.length === 0 && !kernelThread) {
      if (exe) closeSync(exe.fd);
      return "exec";
    }
    const status = parseStatus(readProcText(pid, "status"));
    if (!status) throw new ProcfsError(pid, "cannot parse /proc/PID/status");
    if (status.tgid !== pid) throw new ProcessInvalidError(pid, `is a thread of process ${status.tgid}; attest the process`);
    const cgroup = parseCgroup(readProcText(pid, "cgroup"));

    // Step 3: same executable, same start time, still alive.
    if (exe) {
      const now = statx.pathRaw(Buffer.from(`/proc/${pid}/exe\0`));
      if (now !== 0) throw goneOr(pid, now, "/proc/PID/exe");
      if (statx.ino !== exe.st.ino || statx.result().dev !== exe.st.dev) {
        closeSync(exe.fd);
        return "exec";
      }
    }
    const again = readStat(pid);
    if (again.startTime !== stat.startTime) throw new PidReusedError(pid, stat.startTime, again.startTime);
    if (again.state === "Z" || again.state === "X") throw new ProcessGoneError(pid, "the process exited (zombie, not yet reaped)");
    if (!pidfdAlive(pidfd)) throw new ProcessGoneError(pid, "the process exited while it was being read");

    const accounts = (options.accounts ?? new AccountNames()).snapshot();
    // cgroup v2 when mounted; on a v1-only host the name=systemd hierarchy still names the unit.
    const systemd = systemdFromCgroup(cgroup.v2 ?? cgroup.v1.get("name=systemd"));
    const deleted = exe !== undefined && exe.st.nlink === 0;
    const exePath = exe === undefined ? undefined : deleted && exe.link.endsWith(DELETED_SUFFIX) ? exe.link.slice(0, -DELETED_SUFFIX.length) : exe.link;
    const facts: BaseFacts = {
      pid,
      startTime: stat.startTime,
      ppid: stat.ppid,
      uid: status.uid.effective,
      realUid: status.uid.real,
      gid: status.gid.effective,
      realGid: status.gid.real,
      ...optional("user", accounts.user(status.uid.effective)),
      ...optional("group", accounts.group(status.gid.effective)),
      supplementaryGids: Object.freeze(status.groups),
      supplementaryGroups: Object.freeze(status.groups.map((g) => accounts.group(g) ?? null)),
      comm: again.comm,
      cmdline: Object.freeze(cmd.argv),
      cmdlineTruncated: cmd.truncated,
      kernelThread,
      ...optional("exePath", exePath),
      exeDeleted: deleted,
      ...optional("exeDevice", exe?.st.dev),
      ...optional("exeInode", exe?.st.ino),
      ...optional("exeSize", exe?.st.size),
      ...optional("cgroupPath", cgroup.v2),
      ...optional("systemdUnit", systemd.unit),
      systemdSlices: Object.freeze(systemd.slices),
      ...optional("systemdUserUnit", systemd.userUnit),
      readAt: Date.now(),
    };
    return exe ? { facts, exe: { fd: exe.fd, st: exe.st } } : { facts };
  } catch (err) {
    if (exe) closeSync(exe.fd);
    throw err;
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function hashExe(fd: number, st: StatxResult, options: FactsOptions): Promise<ExeHash> {
  const hashes = options.hashes ?? new ExeHashCache(1);
  return hashes.hashFd(fd, st, {
    limitBytes: options.hashLimitBytes ?? DEFAULT_HASH_LIMITS.limitBytes,
    timeoutMs: options.hashTimeoutMs ?? DEFAULT_HASH_LIMITS.timeoutMs,
  });
}

function openPidfd(pid: number): number {
  try {
    return pidfdOpen(pid);
  } catch (err) {
    if (err instanceof SysError && err.errno === ESRCH) throw new ProcessGoneError(pid, "no such process");
    // Not a thread-group leader: EINVAL before Linux 6.9, ENOENT since (the tid still shows in /proc).
    if (err instanceof SysError && (err.errno === EINVAL || (err.errno === ENOENT && existsSync(`/proc/${pid}/status`))))
      throw new ProcessInvalidError(pid, "is a thread, not a process; attest its process (Tgid in /proc/PID/status)");
    if (err instanceof SysError && err.errno === ENOENT) throw new ProcessGoneError(pid, "no such process");
    throw new ProcfsError(pid, `pidfd_open: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** A caller-supplied pidfd must name `pid` (fdinfo `Pid:`; -1 once the process was reaped). */
function checkPidfdNames(pidfd: number, pid: number): void {
  const text = readFileSync(`/proc/self/fdinfo/${pidfd}`, "utf8");
  const m = /^Pid:\s*(-?\d+)$/m.exec(text);
  if (!m) throw new TypeError(`fd ${pidfd} is not a pidfd`);
  const named = Number(m[1]);
  if (named === -1) throw new ProcessGoneError(pid, "the process of the given pidfd exited");
  if (named !== pid) throw new TypeError(`pidfd ${pidfd} names pid ${named}, not ${pid}`);
}

/** Start time, state, ppid, flags, comm from /proc/PID/stat. */
export function readStat(pid: number): StatFields {
  const stat = parseStat(readProcText(pid, "stat"));
  if (!stat) throw new ProcfsError(pid, "cannot parse /proc/PID/stat");
  return stat;
}

/** The start time of the process now at `pid` (clock ticks after boot). */
export function readStartTime(pid: number): number {
  return readStat(pid).startTime;
}

function readProcText(pid: number, name: string): string {
  try {
    return readFileSync(`/proc/${pid}/${name}`, "utf8");
  } catch (err) {
    throw procError(pid, err, `/proc/${pid}/${name}`);
  }
}

function openExe(pid: number, statx: Statx): { fd: number; st: StatxResult; link: string } {
  const path = `/proc/${pid}/exe`;
  let link: string;
  let fd: number;
  try {
    link = readlinkSync(path);
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    throw procError(pid, err, path);
  }
  try {
    return { fd, st: statx.fd(fd), link };
  } catch (err) {
    closeSync(fd);
    throw procError(pid, err, path);
  }
}

function readCmdline(pid: number, limit: number): { argv: string[]; truncated: boolean } {
  const path = `/proc/${pid}/cmdline`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    throw procError(pid, err, path);
  }
  try {
    // Most command lines are short: start small, grow up to the limit (+1 byte to see truncation).
    let buf = Buffer.allocUnsafe(Math.min(limit + 1, 4096));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (buf.length === limit + 1) break;
        const bigger = Buffer.allocUnsafe(Math.min(limit + 1, buf.length * 4));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    const truncated = n > limit;
    return { argv: parseCmdline(buf.subarray(0, Math.min(n, limit))), truncated };
  } catch (err) {
    throw procError(pid, err, path);
  } finally {
    closeSync(fd);
  }
}

function procError(pid: number, err: unknown, what: string): Error {
  if (err instanceof ProcessGoneError || err instanceof ProcfsError) return err;
  const code = err instanceof SysError ? err.code : (err as { code?: unknown })?.code;
  if (code === "ENOENT" || code === "ESRCH") return new ProcessGoneError(pid, `the process exited (${what}: ${code})`, { cause: err });
  if (code === "EACCES" || code === "EPERM") return new ProcessAccessError(pid, what, { cause: err });
  return new ProcfsError(pid, `reading ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

function goneOr(pid: number, errno: number, what: string): Error {
  return procError(pid, new SysError("statx", errno), what.replace("PID", String(pid)));
}

/**
 * Throws unless `ref` still names a live process: ERR_PROCESS_GONE when it exited (and the pid is
 * free), ERR_PID_REUSED when the pid now belongs to another process (by start time, and by pidfd
 * inode where the kernel has pidfs). Use it before acting on facts recorded earlier.
 */
export function assertSameProcess(ref: ProcessRef): void {
  const fd = openPidfd(ref.pid);
  try {
    if (ref.pidfdInode !== undefined && pidfdInodesUnique()) {
      const ino = new Statx().fd(fd).ino;
      if (ino !== ref.pidfdInode) throw new PidReusedError(ref.pid, ref.startTime, readStat(ref.pid).startTime, "pidfd inode");
    }
    const stat = readStat(ref.pid);
    if (stat.startTime !== ref.startTime) throw new PidReusedError(ref.pid, ref.startTime, stat.startTime);
    if (stat.state === "Z" || stat.state === "X" || !pidfdAlive(fd)) throw new ProcessGoneError(ref.pid);
  } finally {
    closeFd(fd);
  }
}
