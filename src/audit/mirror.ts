import { close, fchmod, fdatasync, fstat, open, read, write } from "node:fs";
import { promisify } from "node:util";
import { errnoCode } from "../errors/index.ts";
import type { Logger } from "../log/index.ts";

// Plain fds, not FileHandle: Bun turns a FileHandle that is garbage-collected unclosed into a crash.
const fs = {
  open: promisify(open),
  close: promisify(close),
  fstat: promisify(fstat),
  fchmod: promisify(fchmod),
  fdatasync: promisify(fdatasync),
  read: promisify(read),
  write: promisify(write),
};

/**
 * The JSON-lines copy of the audit log (`audit.jsonl`, mode 0600), for shipping to a SIEM or reading
 * with grep. Lines are written only after LMDB has committed the records they copy, so the mirror
 * can lag the store after a crash (the next open backfills it) but never run ahead of it.
 */
export class MirrorWriter {
  #pending: string[] = [];
  #lastCommit: Promise<unknown> = Promise.resolve();
  #chain: Promise<void> = Promise.resolve();
  #scheduled = false;
  #error: Error | undefined;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly logger: Logger,
  ) {}

  static async open(path: string, logger: Logger): Promise<MirrorWriter> {
    const fd = await fs.open(path, "a", 0o600);
    try {
      const { mode } = await fs.fstat(fd);
      if ((mode & 0o077) !== 0) {
        logger.warn("audit mirror was readable by other users; tightened to 0600", { path, mode: (mode & 0o777).toString(8) });
        await fs.fchmod(fd, 0o600);
      }
    } catch (err) {
      await fs.close(fd);
      throw err;
    }
    return new MirrorWriter(path, fd, logger);
  }

  get error(): Error | undefined {
    return this.#error;
  }

  /** Queue `line` (no newline) to be written once `committed` (its LMDB write) resolves. */
  enqueue(line: string, committed: Promise<unknown>): void {
    this.#pending.push(line);
    this.#lastCommit = committed;
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#drain());
  }

  /** Write `text` right away, in order with queued lines (startup backfill). */
  async writeNow(text: string): Promise<void> {
    this.#drain();
    this.#then(() => this.#write(text));
    await this.#chain;
    if (this.#error) throw this.#error;
  }

  /** Resolves when every queued line is written and fdatasync'ed; rejects if any write failed. */
  async flush(): Promise<void> {
    this.#drain();
    await this.#chain;
    if (this.#error) throw this.#error;
    await fs.fdatasync(this.fd);
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await fs.close(this.fd);
    }
  }

  #drain(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("\n") + "\n";
    const committed = this.#lastCommit; // LMDB commits in order: the last one covers the batch
    this.#pending = [];
    this.#then(async () => {
      await committed;
      await this.#write(text);
    });
  }

  #then(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch((err: unknown) => {
      // A failed commit or write: stop mirroring rather than leave a hole in the middle of the file.
      if (!this.#error) this.logger.error("audit mirror write failed", { path: this.path, error: err });
      this.#error ??= err instanceof Error ? err : new Error(String(err));
    });
  }

  async #write(text: string): Promise<void> {
    if (this.#error) return;
    const bytes = Buffer.from(text, "utf8");
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await fs.write(this.fd, bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
  }
}

export interface MirrorLine {
  /** 1-based. */
  line: number;
  text: string;
}

/** Lines of the mirror in order, streamed (the file can be large). Missing file: no lines. */
export async function* readMirrorLines(path: string): AsyncGenerator<MirrorLine> {
  const fd = await openForReading(path);
  if (fd === undefined) return;
  try {
    const chunk = Buffer.alloc(1 << 16);
    let carry = Buffer.alloc(0);
    let line = 0;
    for (;;) {
      const { bytesRead } = await fs.read(fd, chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      let data = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      let nl: number;
      while ((nl = data.indexOf(0x0a)) !== -1) {
        yield { line: ++line, text: data.subarray(0, nl).toString("utf8") };
        data = data.subarray(nl + 1);
      }
      carry = Buffer.from(data);
    }
    if (carry.length > 0) yield { line: ++line, text: carry.toString("utf8") };
  } finally {
    await fs.close(fd);
  }
}

/** The seq of the mirror's last complete line, and whether the file ends mid-line (a torn write). */
export async function mirrorTail(path: string): Promise<{ lastSeq: number | undefined; torn: boolean; empty: boolean }> {
  const fd = await openForReading(path);
  if (fd === undefined) return { lastSeq: undefined, torn: false, empty: true };
  try {
    const { size } = await fs.fstat(fd);
    if (size === 0) return { lastSeq: undefined, torn: false, empty: true };
    const length = Math.min(size, 1 << 16);
    const buf = Buffer.alloc(length);
    await fs.read(fd, buf, 0, length, size - length);
    const text = buf.toString("utf8");
    const torn = !text.endsWith("\n");
    const last = text.split("\n").slice(0, -1).at(-1); // drops "" after the final newline, or a torn line
    return { lastSeq: last === undefined ? undefined : seqOf(last), torn, empty: false };
  } finally {
    await fs.close(fd);
  }
}

async function openForReading(path: string): Promise<number | undefined> {
  try {
    return await fs.open(path, "r");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
}

export function seqOf(line: string): number | undefined {
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return typeof seq === "number" && Number.isSafeInteger(seq) ? seq : undefined;
  } catch {
    return undefined;
  }
}
