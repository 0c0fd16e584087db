import type { Store } from "../store/index.ts";
import { auditDb } from "./chain.ts";
import { readMirrorLines, seqOf, type MirrorLine } from "./mirror.ts";
import { Problems, seqRange } from "./problems.ts";

export type MirrorCheck = { problems: Problems; trailingMissing: boolean };

/** Merge-walk the mirror's lines against the store's records, both in seq order. */
export async function verifyMirror(store: Store, path: string): Promise<MirrorCheck> {
  const walk = new MirrorWalk(store, path);
  for await (const line of readMirrorLines(path)) walk.line(line);
  return walk.finish();
}

class MirrorWalk {
  readonly problems = new Problems();
  readonly #cursor: RecordCursor;
  #missing: { from: number; to: number } | undefined;

  constructor(
    private readonly store: Store,
    private readonly path: string,
  ) {
    this.#cursor = new RecordCursor(store);
  }

  line({ line, text }: MirrorLine): void {
    const seq = seqOf(text);
    if (seq === undefined) {
      this.problems.add(this.#cursor.peek()?.seq ?? 0, "mirror", `mirror line ${line} is not a valid audit record`);
      return;
    }
    let stored: Stored | undefined;
    while ((stored = this.#cursor.peek()) && stored.seq < seq) this.#skipMissing(stored.seq);
    this.#flushMissing();
    if (!stored || seq < stored.seq) {
      this.problems.add(seq, "mirror", this.store.db(auditDb).has(seq)
        ? `mirror line ${line} repeats seq ${seq} (duplicated or out of order)`
        : `mirror line ${line} has seq ${seq}, which the store does not have`);
      return;
    }
    if (text !== stored.text) {
      this.problems.add(seq, "mirror", `mirror line ${line} differs from the store's record ${seq} (edited)`);
    }
    this.#cursor.advance();
  }

  finish(): MirrorCheck {
    let stored: Stored | undefined;
    while ((stored = this.#cursor.peek())) this.#skipMissing(stored.seq);
    const trailingMissing = this.#missing !== undefined;
    this.#flushMissing();
    return { problems: this.problems, trailingMissing };
  }

  #skipMissing(seq: number): void {
    if (this.#missing && this.#missing.to === seq - 1) this.#missing.to = seq;
    else {
      this.#flushMissing();
      this.#missing = { from: seq, to: seq };
    }
    this.#cursor.advance();
  }

  #flushMissing(): void {
    if (!this.#missing) return;
    const { from, to } = this.#missing;
    this.problems.add(from, "mirror", `${seqRange(from, to)} missing from the mirror ${this.path}`);
    this.#missing = undefined;
  }
}

type Stored = { seq: number; text: string };

/**
 * Reads the store in chunks, each from a fresh snapshot: a long verify never pins one read
 * transaction, and mirror lines written after the walk began still find their records.
 */
class RecordCursor {
  #buffer: Stored[] = [];
  #index = 0;
  #nextSeq = 0;

  constructor(private readonly store: Store) {}

  peek(): Stored | undefined {
    if (this.#index === this.#buffer.length) {
      this.#buffer = [];
      this.#index = 0;
      for (const { key, value } of this.store.db(auditDb).getRange({ start: this.#nextSeq, limit: 1024 })) {
        this.#buffer.push({ seq: key, text: value });
      }
    }
    return this.#buffer[this.#index];
  }

  advance(): void {
    const current = this.#buffer[this.#index++];
    if (current) this.#nextSeq = current.seq + 1;
  }
}
