import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import { silentLogger, type Logger } from "../log/index.ts";
import type { Store, TypedDb } from "../store/index.ts";
import { auditDb, auditKey, decodeRecord, hashEncoded, HEAD_KEY, MAX_SEQ, readHead } from "./chain.ts";
import { RecordEncoding } from "./encode.ts";
import { AuditError } from "./errors.ts";
import { MirrorWriter } from "./mirror.ts";
import { buildRecord } from "./record.ts";
import { backfillMirror, resumeHead } from "./resume.ts";
import type { AuditHead, AuditInput, AuditRecord, VerifyResult } from "./types.ts";
import { verifyAudit } from "./verify.ts";

export interface AuditLogOptions {
  /** JSON-lines mirror; default `<dataDir>/audit.jsonl`, `null` for none. */
  mirrorPath?: string | null;
  logger?: Logger;
  /** How often `follow` looks for new records. */
  pollIntervalMs?: number;
}

/**
 * The hash-chained audit log. The process that holds the store's lock is the only writer: it keeps
 * the chain head in memory, so `append` is synchronous for callers and writes are batched. Read-only
 * stores (CLI next to a running serve) can tail, follow and verify.
 */
export class AuditLog {
  #head: AuditHead;
  #headQueued = false;
  #failure: Error | undefined;
  #closed = false;
  #lastCommit: Promise<unknown> | undefined;
  readonly #db: TypedDb<number, string>;

  private constructor(
    private readonly store: Store,
    private readonly key: KeyObject,
    head: AuditHead,
    readonly mirrorPath: string | null,
    private readonly mirror: MirrorWriter | undefined,
    private readonly logger: Logger,
    private readonly pollIntervalMs: number,
    private readonly release: () => void,
  ) {
    this.#head = head;
    this.#db = store.db(auditDb);
  }

  static async open(store: Store, options: AuditLogOptions = {}): Promise<AuditLog> {
    const logger = (options.logger ?? silentLogger).child({ component: "audit" });
    const mirrorPath = options.mirrorPath === undefined ? join(store.dataDir, "audit.jsonl") : options.mirrorPath;
    const poll = options.pollIntervalMs ?? 250;
    const key = auditKey(store);
    if (store.readOnly) return new AuditLog(store, key, readHead(store), mirrorPath, undefined, logger, poll, () => {});

    const release = store.claim("audit");
    let mirror: MirrorWriter | undefined;
    try {
      const head = resumeHead(store, logger);
      if (mirrorPath !== null) {
        mirror = await MirrorWriter.open(mirrorPath, logger);
        await backfillMirror(store, mirror, head, logger);
      }
      logger.debug("audit log open", { seq: head.seq, mirrorPath });
      return new AuditLog(store, key, head, mirrorPath, mirror, logger, poll, release);
    } catch (err) {
      await mirror?.close().catch(() => {});
      release();
      throw err;
    }
  }

  /** The last appended record's seq and hash (read-only: the writer's latest committed head). */
  get head(): AuditHead {
    return this.store.readOnly ? readHead(this.store) : { ...this.#head };
  }

  /**
   * Chain, store (batched) and mirror one event; returns the record as stored. Throws TypeError on a
   * malformed input, `ERR_AUDIT_WRITE` once a write has failed (the chain cannot continue safely).
   */
  append(input: AuditInput): AuditRecord {
    this.#assertWritable();
    const seq = this.#head.seq + 1;
    if (seq > MAX_SEQ) throw new AuditError("ERR_AUDIT_WRITE", "audit log is full (seq exceeds 2^32-1)");
    const body = buildRecord(input, seq, this.#head.hash, new Date());
    const encoding = new RecordEncoding(body);
    const hash = hashEncoded(this.key, body.prev, encoding.withoutHash());
    const line = encoding.withHash(hash);

    // Same event turn → same LMDB transaction (lmdb-js commits a turn's writes from setImmediate):
    // the records and the head commit together. The head is written once per turn, from a
    // microtask, however many records the turn appended (it was half the cost of an append).
    const committed = this.#db.put(seq, line);
    this.#watch(committed);
    this.#head = { seq, hash };
    if (!this.#headQueued) {
      this.#headQueued = true;
      queueMicrotask(() => {
        this.#headQueued = false;
        this.#watch(this.store.meta.put(HEAD_KEY, { ...this.#head }));
      });
    }
    this.mirror?.enqueue(line, committed);
    return Object.freeze({ ...body, hash });
  }

  /** Resolves once everything appended so far is committed, fsynced and mirrored. */
  async flush(): Promise<void> {
    if (this.store.readOnly) return;
    await this.#lastCommit?.catch(() => {});
    await this.mirror?.flush();
    await this.store.flushed();
    if (this.#failure) throw this.#failure;
  }

  /** The last `n` records, oldest first. */
  tail(n: number): AuditRecord[] {
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError("audit tail: n must be a non-negative integer");
    const out: AuditRecord[] = [];
    for (const { key, value } of this.#db.getRange({ reverse: true, limit: n })) out.push(decodeRecord(key, value));
    return out.reverse();
  }

  /** Records with seq ≥ `fromSeq`, oldest first, at most `limit`. */
  since(fromSeq: number, limit = 1000): AuditRecord[] {
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 0) throw new TypeError("audit since: fromSeq must be a non-negative integer");
    const start = Math.min(fromSeq, MAX_SEQ);
    const out: AuditRecord[] = [];
    for (const { key, value } of this.#db.getRange({ start, limit })) out.push(decodeRecord(key, value));
    return out;
  }

  /**
   * Deliver every record with seq ≥ `fromSeq`, then each new one as it is committed (polling, so
   * it works from another process's read-only store), until `signal` aborts.
   */
  async follow(fromSeq: number, onRecord: (record: AuditRecord) => void, signal: AbortSignal): Promise<void> {
    let next = fromSeq;
    while (!signal.aborted) {
      let batch: AuditRecord[];
      while (!signal.aborted && (batch = this.since(next)).length > 0) {
        for (const record of batch) {
          if (signal.aborted) return;
          onRecord(record);
          next = record.seq + 1;
        }
      }
      await sleep(this.pollIntervalMs, signal);
    }
  }

  /** Check the chain, the head and the mirror; see VerifyResult. */
  async verify(): Promise<VerifyResult> {
    if (!this.store.readOnly && !this.#closed) await this.flush().catch(() => {});
    return verifyAudit(this.store, this.key, { mirrorPath: this.mirrorPath, concurrentWriter: this.store.readOnly });
  }

  /** Flush and stop; close the log before the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.flush();
    } finally {
      try {
        await this.mirror?.close();
      } finally {
        this.release();
      }
    }
  }

  #watch(commit: Promise<unknown>): void {
    if (commit === this.#lastCommit) return;
    this.#lastCommit = commit;
    commit.catch((err: unknown) => this.#fail(err));
  }

  #assertWritable(): void {
    if (this.store.readOnly) throw new AuditError("ERR_AUDIT_READ_ONLY", "audit log is open read-only (the store belongs to a running sluice serve)");
    if (this.#closed) throw new AuditError("ERR_AUDIT_CLOSED", "audit log is closed");
    if (this.#failure) throw this.#failure;
    const mirrorError = this.mirror?.error;
    if (mirrorError) this.#fail(mirrorError);
    if (this.#failure) throw this.#failure;
  }

  #fail(err: unknown): void {
    if (this.#failure) return;
    this.logger.error("audit write failed; no further events can be chained", { error: err });
    this.#failure = new AuditError("ERR_AUDIT_WRITE", `audit log write failed: ${(err as Error)?.message ?? String(err)}; restart sluice`, { cause: err });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
