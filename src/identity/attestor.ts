/**
 * Attestor: pid → facts → WorkloadIdentity, with a cache so that attesting the same process again
 * costs three system calls instead of a full procfs read.
 *
 * Cache entries are keyed by pid and hold the facts, the process's start time and an open pidfd.
 * A hit is served only when, in this order:
 *   1. statx /proc/PID/exe still gives the same file (device, inode): no exec since;
 *   2. statx /proc/PID still gives the same owner (the kernel shows the process's effective
 *      uid/gid there while it is dumpable): no setuid/setgid since;
 *   3. pidfd_send_signal(pidfd, 0) succeeds: the process the facts were read from is alive, so
 *      the pid has not been recycled and steps 1–2 were about it (a live process keeps its pid);
 *   4. the facts are younger than `maxAgeMs` (default 1 s), which bounds how stale the facts
 *      nothing cheap can watch may get: cgroup moves, supplementary groups, comm, argv.
 * Otherwise the entry is dropped and the process read again. The baselines for 1–2 are taken
 * BEFORE the facts are read, so a change during the read is caught on the next hit.
 *
 * Reading /proc/PID/stat for the start time on every hit would be the obvious check, but the kernel
 * formats ~50 fields for it: it costs more than the three calls above together (see
 * bench/attestation.ts). The start time is still the key callers compare (`expect`).
 *
 * Bounded (LRU, `cacheSize` entries, one pidfd each); entries of exited processes are dropped
 * on their next lookup and by a periodic sweep.
 */
import type { Pointer } from "bun:ffi";
import { ptr } from "bun:ffi";
import type { AuditInput } from "../audit/index.ts";
import { silentLogger, type Logger } from "../log/index.ts";
import { AccountNames, type AccountPaths } from "./accounts.ts";
import { PidReusedError } from "./errors.ts";
import { ExeHashCache } from "./exe-hash.ts";
import { readFactsKeepingPidfd, type FactsOptions } from "./facts.ts";
import { Lru } from "./lru.ts";
import { matchWorkload, type WorkloadMatch } from "./match.ts";
import type { WorkloadSource } from "./selectors.ts";
import { closeFd, makedev, pidfdAlive, Statx } from "./sys.ts";
import type { ProcessFacts } from "./types.ts";

export interface AttestorOptions {
  logger?: Logger;
  /** Where `identity.ambiguous` warnings go (an AuditLog). */
  audit?: { append(input: AuditInput): unknown };
  hashLimitBytes?: number;
  hashTimeoutMs?: number;
  cmdlineLimitBytes?: number;
  /** Processes whose facts are cached (one pidfd each). Default 4096. */
  cacheSize?: number;
  /** Executable hashes cached by file identity. Default 1024. */
  hashCacheSize?: number;
  /** Cached facts are read again after this long. Default 1000 ms. */
  maxAgeMs?: number;
  /** How often entries of exited processes are dropped (0: only on lookup). Default 10 s. */
  sweepIntervalMs?: number;
  accountPaths?: AccountPaths;
}

export interface IdentifyOptions {
  /** The process the caller means (e.g. recorded by the kernel): another one at this pid is ERR_PID_REUSED. */
  expect?: { startTime: number; pidfdInode?: number };
  /** A pidfd the caller holds for the pid (SO_PEERPIDFD): facts are read fresh through it, not cached. */
  pidfd?: number;
}

export interface Attestation {
  readonly facts: ProcessFacts;
  readonly match: WorkloadMatch;
  /** Served from the cache. */
  readonly cached: boolean;
}

export interface AttestorStats {
  entries: number;
  hits: number;
  /** Full procfs reads. */
  misses: number;
  /** Entries dropped because the process exited, exec'd, changed credentials or aged out. */
  invalidated: number;
  hashed: number;
  hashHits: number;
}

interface Baseline {
  exeErr: number;
  exeIno: number;
  exeMajor: number;
  exeMinor: number;
  ownerErr: number;
  uid: number;
  gid: number;
}

interface Entry {
  readonly facts: ProcessFacts;
  readonly pidfd: number;
  readonly bornAt: number;
  readonly base: Baseline;
  // NUL-terminated paths, built once; the Uint8Arrays keep the pointers valid.
  readonly exePath: Uint8Array;
  readonly exePtr: Pointer;
  readonly dirPath: Uint8Array;
  readonly dirPtr: Pointer;
  match?: { snapshot: WorkloadSource; result: WorkloadMatch };
}

export class Attestor {
  readonly #logger: Logger;
  readonly #audit: AttestorOptions["audit"];
  readonly #facts: FactsOptions;
  readonly #maxAgeMs: number;
  readonly #hashes: ExeHashCache;
  readonly #entries: Lru<number, Entry>;
  readonly #inflight = new Map<number, Promise<{ facts: ProcessFacts; entry?: Entry }>>();
  readonly #audited = new Lru<string, true>(4096);
  readonly #statx = new Statx();
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #hits = 0;
  #misses = 0;
  #invalidated = 0;
  #closed = false;

  constructor(options: AttestorOptions = {}) {
    this.#logger = (options.logger ?? silentLogger).child({ component: "identity" });
    this.#audit = options.audit;
    this.#hashes = new ExeHashCache(options.hashCacheSize ?? 1024);
    this.#facts = {
      accounts: new AccountNames(options.accountPaths),
      hashes: this.#hashes,
      ...(options.hashLimitBytes !== undefined ? { hashLimitBytes: options.hashLimitBytes } : {}),
      ...(options.hashTimeoutMs !== undefined ? { hashTimeoutMs: options.hashTimeoutMs } : {}),
      ...(options.cmdlineLimitBytes !== undefined ? { cmdlineLimitBytes: options.cmdlineLimitBytes } : {}),
    };
    this.#maxAgeMs = options.maxAgeMs ?? 1000;
    this.#entries = new Lru(options.cacheSize ?? 4096, (_pid, e) => closeFd(e.pidfd));
    const sweep = options.sweepIntervalMs ?? 10_000;
    if (sweep > 0) {
      this.#timer = setInterval(() => this.sweep(), sweep);
      this.#timer.unref?.();
    }
  }

  get stats(): AttestorStats {
    const h = this.#hashes.stats;
    return { entries: this.#entries.size, hits: this.#hits, misses: this.#misses, invalidated: this.#invalidated, hashed: h.hashed, hashHits: h.hits };
  }

  /** Facts and workload of `pid` (cached when possible). Throws IdentityError; never guesses. */
  async identify(pid: number, snapshot: WorkloadSource, options: IdentifyOptions = {}): Promise<Attestation> {
    const hit = options.pidfd === undefined ? this.identifyCached(pid, snapshot, options) : undefined;
    if (hit) return hit;
    const { facts, entry } = await this.#read(pid, options);
    const match = this.#match(facts, entry, snapshot);
    return { facts, match, cached: false };
  }

  /** The cached attestation, validated (see the file comment), or undefined when a full read is needed. */
  identifyCached(pid: number, snapshot: WorkloadSource, options: Pick<IdentifyOptions, "expect"> = {}): Attestation | undefined {
    const e = this.#valid(pid);
    if (!e) return undefined;
    const expect = options.expect;
    if (expect && (expect.startTime !== e.facts.startTime || (expect.pidfdInode !== undefined && e.facts.pidfdInode !== undefined && expect.pidfdInode !== e.facts.pidfdInode)))
      throw new PidReusedError(pid, expect.startTime, e.facts.startTime, expect.startTime !== e.facts.startTime ? "start time" : "pidfd inode");
    this.#hits++;
    return { facts: e.facts, match: this.#match(e.facts, e, snapshot), cached: true };
  }

  /** Facts only (cached when possible). */
  async facts(pid: number, options: IdentifyOptions = {}): Promise<ProcessFacts> {
    if (options.pidfd === undefined) {
      const e = this.#valid(pid);
      if (e && (!options.expect || options.expect.startTime === e.facts.startTime)) {
        this.#hits++;
        return e.facts;
      }
    }
    return (await this.#read(pid, options)).facts;
  }

  /** Forget a process (e.g. the kernel reported an exec or exit). */
  invalidate(pid: number): boolean {
    return this.#entries.delete(pid);
  }

  /** Drop entries of processes that exited; returns how many. */
  sweep(): number {
    let dropped = 0;
    for (const [pid, e] of [...this.#entries.entries()]) {
      let alive = false;
      try {
        alive = pidfdAlive(e.pidfd);
      } catch {
        alive = false;
      }
      if (!alive) {
        this.#entries.delete(pid);
        this.#invalidated++;
        dropped++;
      }
    }
    return dropped;
  }

  /** Empty the facts cache (and the hash cache with `{hashes: true}`). */
  clear(options: { hashes?: boolean } = {}): void {
    this.#entries.clear();
    if (options.hashes) this.#hashes.clear();
  }

  /** Close every pidfd and stop the sweep timer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#entries.clear();
  }

  #valid(pid: number): Entry | undefined {
    const e = this.#entries.get(pid);
    if (!e) return undefined;
    const st = this.#statx;
    const b = e.base;
    const ok =
      st.pathRawPtr(e.exePtr) === b.exeErr &&
      (b.exeErr !== 0 || (st.ino === b.exeIno && st.devMajor === b.exeMajor && st.devMinor === b.exeMinor)) &&
      st.pathRawPtr(e.dirPtr) === 0 &&
      st.uid === b.uid &&
      st.gid === b.gid &&
      safeAlive(e.pidfd) &&
      performance.now() - e.bornAt < this.#maxAgeMs;
    if (ok) return e;
    this.#entries.delete(pid);
    this.#invalidated++;
    return undefined;
  }

  #read(pid: number, options: IdentifyOptions): Promise<{ facts: ProcessFacts; entry?: Entry }> {
    if (this.#closed) throw new TypeError("Attestor is closed");
    const shareable = options.pidfd === undefined;
    const running = shareable ? this.#inflight.get(pid) : undefined;
    const p = running ?? this.#readFresh(pid, options.pidfd);
    if (shareable && !running) {
      this.#inflight.set(pid, p);
      const done = () => {
        if (this.#inflight.get(pid) === p) this.#inflight.delete(pid);
      };
      p.then(done, done);
    }
    if (!options.expect) return p;
    const expect = options.expect;
    return p.then((r) => {
      if (r.facts.startTime !== expect.startTime) throw new PidReusedError(pid, expect.startTime, r.facts.startTime);
      if (expect.pidfdInode !== undefined && r.facts.pidfdInode !== undefined && expect.pidfdInode !== r.facts.pidfdInode)
        throw new PidReusedError(pid, expect.startTime, r.facts.startTime, "pidfd inode");
      return r;
    });
  }

  async #readFresh(pid: number, callerPidfd: number | undefined): Promise<{ facts: ProcessFacts; entry?: Entry }> {
    this.#misses++;
    const exePath = Buffer.from(`/proc/${pid}/exe\0`);
    const dirPath = Buffer.from(`/proc/${pid}\0`);
    const base = this.#baseline(exePath, dirPath);
    const r = await readFactsKeepingPidfd(pid, callerPidfd === undefined ? this.#facts : { ...this.#facts, pidfd: callerPidfd });
    const f = r.facts;
    const cacheable =
      r.ownsPidfd &&
      !this.#closed &&
      base.ownerErr === 0 &&
      f.exeHash.status !== "timeout" &&
      f.exeHash.status !== "error" &&
      f.exeHash.status !== "changed" &&
      (f.kernelThread ? base.exeErr !== 0 : base.exeErr === 0 && base.exeIno === f.exeInode && makedev(base.exeMajor, base.exeMinor) === f.exeDevice);
    if (!cacheable) {
      if (r.ownsPidfd) closeFd(r.pidfd);
      return { facts: f };
    }
    const entry: Entry = { facts: f, pidfd: r.pidfd, bornAt: performance.now(), base, exePath, exePtr: ptr(exePath), dirPath, dirPtr: ptr(dirPath) };
    this.#entries.set(pid, entry);
    return { facts: f, entry };
  }

  #baseline(exePath: Uint8Array, dirPath: Uint8Array): Baseline {
    const st = this.#statx;
    const exeErr = st.pathRaw(exePath);
    const exe = exeErr === 0 ? { exeIno: st.ino, exeMajor: st.devMajor, exeMinor: st.devMinor } : { exeIno: -1, exeMajor: -1, exeMinor: -1 };
    const ownerErr = st.pathRaw(dirPath);
    return { exeErr, ...exe, ownerErr, uid: ownerErr === 0 ? st.uid : -1, gid: ownerErr === 0 ? st.gid : -1 };
  }

  #match(facts: ProcessFacts, entry: Entry | undefined, snapshot: WorkloadSource): WorkloadMatch {
    if (entry?.match?.snapshot === snapshot) return entry.match.result;
    const result = matchWorkload(facts, snapshot);
    if (entry) entry.match = { snapshot, result };
    if (result.ambiguous) this.#reportAmbiguous(facts, result);
    return result;
  }

  #reportAmbiguous(facts: ProcessFacts, m: WorkloadMatch): void {
    const key = `${facts.pid}:${facts.startTime}`;
    if (this.#audited.peek(key)) return;
    this.#audited.set(key, true);
    const details = {
      startTime: facts.startTime,
      exe: facts.exePath ?? null,
      candidates: m.candidates.map((c) => c.spiffeId),
      selector: m.matchedSelector ? `${m.matchedSelector.at.file}:${m.matchedSelector.at.line}` : null,
      reason: m.reason,
    };
    this.#logger.warn("ambiguous workload match", { pid: facts.pid, spiffeId: m.spiffeId, ...details });
    try {
      this.#audit?.append({ kind: "identity.ambiguous", ...(m.spiffeId ? { subject: m.spiffeId } : {}), pid: facts.pid, uid: facts.uid, decision: "info", details });
    } catch (err) {
      this.#logger.error("audit append failed", { err });
    }
  }
}

function safeAlive(fd: number): boolean {
  try {
    return pidfdAlive(fd);
  } catch {
    return false;
  }
}
