/**
 * Which process holds a socket (by inode): the one process whose /proc/PID/fd has
 * `socket:[inode]`, or nothing when none or several do (a descriptor inherited across fork or
 * passed along cannot be told apart: no guess).
 *
 * Speed: a bounded cache remembers (remote port, inode) → (pid, fd) and is checked on every use
 * by reading that one fd link again, so a keep-alive connection is resolved with one readlink. A
 * miss scans only the processes of the socket's uid, plus root-owned /proc entries (a
 * non-dumpable process of any uid shows as root there): a socket shared with a process of
 * another non-root uid is not seen as ambiguous, and the socket's creator is credited.
 */
import { readdirSync, readlinkSync, statSync } from "node:fs";
import { Lru } from "./lru.ts";

export interface PeerScanLimits {
  readonly maxProcesses: number;
  readonly maxFdsPerProcess: number;
  /** procfs root (tests never change it; a container may). */
  readonly proc: string;
}

export const DEFAULT_PEER_SCAN: PeerScanLimits = { maxProcesses: 32_768, maxFdsPerProcess: 4_096, proc: "/proc" };

interface Holder {
  readonly pid: number;
  readonly fd: string;
}

const CACHE_ENTRIES = 1024;
const cache = new Lru<string, Holder>(CACHE_ENTRIES);

/** The one process holding `socket:[inode]` among `uid`'s (and root-owned) processes. */
export function findSocketOwner(inode: number, uid: number, remotePort: number, limits: PeerScanLimits = DEFAULT_PEER_SCAN): number | undefined {
  const target = `socket:[${inode}]`;
  const key = `${remotePort}/${inode}/${limits.proc}`;
  const cached = cache.get(key);
  if (cached) {
    if (readLink(`${limits.proc}/${cached.pid}/fd/${cached.fd}`) === target) return cached.pid;
    cache.delete(key);
  }
  const holders: Holder[] = [];
  for (const pid of candidatePids(uid, limits)) {
    const fd = fdHolding(pid, target, limits);
    if (fd !== undefined) holders.push({ pid, fd });
    if (holders.length > 1) return undefined;
  }
  const holder = holders[0];
  if (holder) cache.set(key, holder);
  return holder?.pid;
}

/** Forgets every remembered holder (tests). */
export function clearSocketOwnerCache(): void {
  cache.clear();
}

function candidatePids(uid: number, limits: PeerScanLimits): number[] {
  const out: number[] = [];
  let looked = 0;
  for (const name of readdirSync(limits.proc)) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    if (++looked > limits.maxProcesses) break;
    try {
      const owner = statSync(`${limits.proc}/${name}`).uid;
      if (owner === uid || owner === 0) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Whether process `pid` (still) has socket `inode` among its open files. */
export function holdsSocket(pid: number, inode: number, limits: PeerScanLimits = DEFAULT_PEER_SCAN): boolean {
  return fdHolding(pid, `socket:[${inode}]`, limits) !== undefined;
}

function fdHolding(pid: number, target: string, limits: PeerScanLimits): string | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`${limits.proc}/${pid}/fd`);
  } catch {
    return undefined;
  }
  const n = Math.min(fds.length, limits.maxFdsPerProcess);
  for (let i = 0; i < n; i++) {
    if (readLink(`${limits.proc}/${pid}/fd/${fds[i]}`) === target) return fds[i];
  }
  return undefined;
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined; // closed or exited meanwhile
  }
}
