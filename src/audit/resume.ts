import type { Logger } from "../log/index.ts";
import type { Store } from "../store/index.ts";
import { auditDb, lastStored, readHead } from "./chain.ts";
import { mirrorTail, type MirrorWriter } from "./mirror.ts";
import type { AuditHead } from "./types.ts";

/**
 * Where the writer continues. The head in meta commits with each record, so normally it names the
 * last one. If records vanished from the end, keep counting from the head so the hole stays
 * visible to verify instead of being overwritten.
 */
export function resumeHead(store: Store, logger: Logger): AuditHead {
  const head = readHead(store);
  const last = lastStored(store);
  if (!last || last.seq === head.seq) return head;
  if (last.seq > head.seq) {
    logger.warn("audit head is behind the last record; continuing after the record", { head: head.seq, last: last.seq });
    return { seq: last.seq, hash: last.hash ?? head.hash };
  }
  logger.error("audit records are missing at the end of the log (possible tampering): run `sluice audit verify`", {
    head: head.seq,
    last: last.seq,
  });
  return head;
}

/** After a crash the mirror may lack the last committed records: copy them from the store. */
export async function backfillMirror(store: Store, mirror: MirrorWriter, head: AuditHead, logger: Logger): Promise<void> {
  const tail = await mirrorTail(mirror.path);
  if (tail.torn) await mirror.writeNow("\n"); // end the torn line; verify will report it
  if (tail.lastSeq === undefined && !tail.empty) {
    logger.warn("audit mirror's last line is unreadable; not backfilling", { path: mirror.path });
    return;
  }
  const from = (tail.lastSeq ?? 0) + 1;
  if (from > head.seq + 1) {
    logger.warn("audit mirror is ahead of the store (records missing from the store?): run `sluice audit verify`", {
      path: mirror.path,
      mirror: tail.lastSeq,
      head: head.seq,
    });
    return;
  }
  let copied = 0;
  for (let start = from; start <= head.seq; ) {
    const chunk = [...store.db(auditDb).getRange({ start, limit: 1024 })];
    if (chunk.length === 0) break;
    await mirror.writeNow(chunk.map(({ value }) => value + "\n").join(""));
    copied += chunk.length;
    start = chunk.at(-1)!.key + 1;
  }
  if (copied > 0) logger.warn("audit mirror was behind the store; copied the missing records", { path: mirror.path, from, copied });
}
