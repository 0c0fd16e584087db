/**
 * sha256 of a process's executable, read through the file descriptor opened on /proc/PID/exe (the
 * file the kernel actually mapped, even when its path was replaced or deleted), streamed in
 * 256 KiB chunks so the event loop never waits more than about a millisecond per chunk.
 *
 * Bounded: a file larger than `limitBytes` is not read (`too-large`), a hash that takes longer than
 * `timeoutMs` is abandoned (`timeout`). Either way the process is attested without a hash and a
 * `process:binary:sha256` selector does not match it (fail closed for that key only).
 *
 * Cached by file identity (device, inode, size, mtime, ctime): 100 processes of one binary hash it
 * once, and concurrent requests for the same file share one read. ctime is in the key because a
 * process can set mtime back (utimes) but not ctime.
 */
import { createHash } from "node:crypto";
import { closeSync, read } from "node:fs";
import { Lru } from "./lru.ts";
import { Statx, type StatxResult } from "./sys.ts";

export type ExeHash =
  | { readonly status: "ok"; readonly sha256: string }
  | { readonly status: "too-large"; readonly size: number; readonly limitBytes: number }
  | { readonly status: "timeout"; readonly timeoutMs: number }
  /** The file's size or ctime changed while it was read. */
  | { readonly status: "changed" }
  | { readonly status: "error"; readonly reason: string };

export interface HashLimits {
  /** Larger executables are not hashed. Default 256 MiB. */
  limitBytes: number;
  /** Abandon a hash after this long. Default 2000 ms. */
  timeoutMs: number;
}

export const DEFAULT_HASH_LIMITS: HashLimits = { limitBytes: 256 * 1024 * 1024, timeoutMs: 2000 };
const CHUNK = 256 * 1024;

export function fileKey(st: StatxResult): string {
  return `${st.dev}:${st.inoText}:${st.size}:${st.mtime}:${st.ctime}`;
}

export interface HashCacheStats {
  /** Files actually read and hashed. */
  hashed: number;
  /** Requests answered from the cache or by joining a hash in progress. */
  hits: number;
  size: number;
}

export class ExeHashCache {
  readonly #done: Lru<string, string>;
  readonly #inflight = new Map<string, Promise<ExeHash>>();
  #hashed = 0;
  #hits = 0;

  constructor(capacity = 1024) {
    this.#done = new Lru(capacity);
  }

  get stats(): HashCacheStats {
    return { hashed: this.#hashed, hits: this.#hits, size: this.#done.size };
  }

  clear(): void {
    this.#done.clear();
  }

  /**
   * Hash the open executable `fd` whose statx is `st`. Takes ownership of `fd`: it is closed when
   * the last read has returned (never earlier, so a timed-out read cannot land in a reused fd).
   */
  async hashFd(fd: number, st: StatxResult, limits: HashLimits): Promise<ExeHash> {
    if (st.size > limits.limitBytes) {
      closeSync(fd);
      return { status: "too-large", size: st.size, limitBytes: limits.limitBytes };
    }
    const key = fileKey(st);
    const known = this.#done.get(key);
    if (known !== undefined) {
      closeSync(fd);
      this.#hits++;
      return { status: "ok", sha256: known };
    }
    const running = this.#inflight.get(key);
    if (running) {
      closeSync(fd);
      this.#hits++;
      return running;
    }
    this.#hashed++;
    const p = hashWithTimeout(fd, st, limits).then((r) => {
      if (r.status === "ok") this.#done.set(key, r.sha256);
      return r;
    });
    this.#inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.#inflight.delete(key);
    }
  }
}

function hashWithTimeout(fd: number, st: StatxResult, limits: HashLimits): Promise<ExeHash> {
  const state = { cancelled: false };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<ExeHash>((resolve) => {
    timer = setTimeout(() => {
      state.cancelled = true;
      resolve({ status: "timeout", timeoutMs: limits.timeoutMs });
    }, limits.timeoutMs);
  });
  const work = streamHash(fd, st, state).finally(() => {
    clearTimeout(timer);
    closeSync(fd);
  });
  return Promise.race([work, timeout]);
}

async function streamHash(fd: number, st: StatxResult, state: { cancelled: boolean }): Promise<ExeHash> {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(CHUNK);
  let position = 0;
  try {
    for (;;) {
      if (state.cancelled) return { status: "timeout", timeoutMs: 0 };
      const n = await readAt(fd, buf, position);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      position += n;
      if (position > st.size) return { status: "changed" };
    }
    const after = new Statx().fd(fd);
    if (position !== st.size || after.size !== st.size || after.ctime !== st.ctime) return { status: "changed" };
  } catch (err) {
    return { status: "error", reason: err instanceof Error ? err.message : String(err) };
  }
  return { status: "ok", sha256: hash.digest("hex") };
}

function readAt(fd: number, buf: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, buf.length, position, (err, n) => (err ? reject(err) : resolve(n))));
}
