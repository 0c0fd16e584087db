import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { AuditRecord } from "../../../src/audit/index.ts";
import { startFixture } from "../store/helpers.ts";
import { event, openLog, tempRoot, writeEvents } from "./helpers.ts";
import { join } from "node:path";

let tmp: ReturnType<typeof tempRoot>;
beforeEach(() => {
  tmp = tempRoot("sluice-audit-");
});
afterEach(() => tmp.cleanup());

async function collect(lines: AsyncIterator<string>, n: number): Promise<{ seq: number; hash: string }[]> {
  const out: { seq: number; hash: string }[] = [];
  while (out.length < n) {
    const next = await lines.next();
    if (next.done) break;
    out.push(JSON.parse(next.value));
  }
  return out;
}

describe("follow", () => {
  test("a reader in another process (read-only store, no lock) sees existing and new records in order", async () => {
    await writeEvents(tmp.dataDir, 3);
    const { log, close } = await openLog(tmp.dataDir);
    const total = 3 + 2000;
    const follower = await startFixture(join("..", "..", "audit", "fixtures", "follow-audit.ts"), [tmp.dataDir, "2", String(total - 1)]);
    try {
      expect(follower.first.ready).toBe(true);
      const appended: AuditRecord[] = [];
      // Bursts with pauses: the follower polls while the writer grows the file (and LMDB's map).
      for (let burst = 0; burst < 4; burst++) {
        for (let i = 0; i < 500; i++) appended.push(log.append(event(appended.length + 4)));
        await Bun.sleep(60);
      }
      const seen = await collect(follower.lines, total - 1);
      expect(seen.map((r) => r.seq)).toEqual(Array.from({ length: total - 1 }, (_, i) => i + 2));
      expect(seen.at(-1)!.hash).toBe(appended.at(-1)!.hash);
      expect(await follower.proc.exited).toBe(0);
    } finally {
      follower.proc.kill();
      await close();
    }
  });

  test("in-process follow delivers new appends and stops when aborted", async () => {
    const { log, close } = await openLog(tmp.dataDir);
    try {
      log.append(event(1));
      const seen: number[] = [];
      const controller = new AbortController();
      const following = log.follow(1, (r) => {
        seen.push(r.seq);
        if (r.seq === 5) controller.abort();
      }, controller.signal);
      await Bun.sleep(30);
      for (let i = 2; i <= 8; i++) log.append(event(i));
      await following;
      expect(seen).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await close();
    }
  });
});
