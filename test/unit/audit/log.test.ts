import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { AuditLog, GENESIS_HASH, canonicalJson } from "../../../src/audit/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { event, openLog, rejection, tempRoot, thrown, writeEvents } from "./helpers.ts";

let tmp: ReturnType<typeof tempRoot>;
beforeEach(() => {
  tmp = tempRoot("sluice-audit-");
});
afterEach(() => tmp.cleanup());

describe("audit log: append, tail, chain", () => {
  test("append returns the stored record synchronously; tail and since read it back in order", async () => {
    const { log, close } = await openLog(tmp.dataDir);
    try {
      const first = log.append({ kind: "policy.reload", decision: "info", details: { files: 3 } });
      expect(first).toMatchObject({ seq: 1, kind: "policy.reload", decision: "info", details: { files: 3 }, prev: GENESIS_HASH });
      expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(new Date(first.time).toISOString()).toBe(first.time);
      expect(Object.isFrozen(first)).toBe(true);

      const records = [first];
      for (let i = 2; i <= 10; i++) records.push(log.append(event(i)));
      expect(records[4]!.prev).toBe(records[3]!.hash);
      expect(log.head).toEqual({ seq: 10, hash: records[9]!.hash });

      await log.flush();
      expect(log.tail(3).map((r) => r.seq)).toEqual([8, 9, 10]);
      expect(log.tail(100).length).toBe(10);
      expect(log.tail(0)).toEqual([]);
      expect(log.since(9).map((r) => r.seq)).toEqual([9, 10]);
      expect(log.since(11)).toEqual([]);
      expect(log.tail(10)).toEqual(records);
    } finally {
      await close();
    }
  });

  test("the chain verifies; the mirror holds the same records as canonical JSON lines, mode 0600", async () => {
    const { log, close } = await openLog(tmp.dataDir);
    const appended = Array.from({ length: 25 }, (_, i) => log.append(event(i + 1)));
    const result = await log.verify();
    expect(result).toMatchObject({ ok: true, checked: 25, problems: [], omitted: 0, head: { seq: 25, hash: appended[24]!.hash } });
    await close();

    const mirror = join(tmp.dataDir, "audit.jsonl");
    expect(statSync(mirror).mode & 0o777).toBe(0o600);
    const lines = readFileSync(mirror, "utf8").trimEnd().split("\n");
    expect(lines).toEqual(appended.map((r) => canonicalJson(r)));
  });

  test("reopening resumes the chain from the stored head", async () => {
    await writeEvents(tmp.dataDir, 5);
    const { log, close } = await openLog(tmp.dataDir);
    try {
      const before = log.head;
      expect(before.seq).toBe(5);
      const next = log.append(event(6));
      expect(next.seq).toBe(6);
      expect(next.prev).toBe(before.hash);
      expect((await log.verify()).ok).toBe(true);
    } finally {
      await close();
    }
  });

  test("after flush() another process sees every record (durable, not just queued)", async () => {
    const { log, close } = await openLog(tmp.dataDir);
    try {
      for (let i = 1; i <= 200; i++) log.append(event(i));
      await log.flush();
      const proc = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", "verify-audit.ts"), tmp.dataDir], { stdout: "pipe" });
      const out = JSON.parse(await new Response(proc.stdout).text());
      expect(out).toMatchObject({ ok: true, checked: 200, head: { seq: 200 } });
    } finally {
      await close();
    }
  });

  test("a custom mirror path is honoured; null disables the mirror", async () => {
    const mirrorPath = join(tmp.root, "audit-copy.jsonl");
    const a = await openLog(tmp.dataDir, { mirrorPath });
    a.log.append(event(1));
    await a.close();
    expect(readFileSync(mirrorPath, "utf8").split("\n").length).toBe(2);

    const b = await openLog(tmp.dataDir, { mirrorPath: null });
    b.log.append(event(2));
    expect((await b.log.verify()).ok).toBe(true);
    await b.close();
    expect(readFileSync(mirrorPath, "utf8").split("\n").length).toBe(2);
  });

  test("caller mistakes are TypeErrors and consume no seq", async () => {
    const { log, close } = await openLog(tmp.dataDir);
    try {
      const bad: unknown[] = [
        { kind: "Not A Kind" },
        { kind: "" },
        { kind: "x".repeat(65) },
        { kind: "egress.deny", decision: "maybe" },
        { kind: "egress.deny", pid: -1 },
        { kind: "egress.deny", uid: 1.5 },
        { kind: "egress.deny", subject: 42 },
        { kind: "egress.deny", details: ["not", "an", "object"] },
      ];
      for (const input of bad) expect(() => log.append(input as never)).toThrow(TypeError);
      expect(log.append({ kind: "egress.deny" }).seq).toBe(1);
    } finally {
      await close();
    }
  });

  test("one writer per store: a second AuditLog in the same process is refused until the first closes", async () => {
    const store = await openStore({ dataDir: tmp.dataDir });
    try {
      const first = await AuditLog.open(store);
      expect((await rejection(AuditLog.open(store))).code).toBe("ERR_STORE_CLAIMED");
      await first.close();
      expect(() => first.append(event(1))).toThrow("closed");
      const second = await AuditLog.open(store);
      second.append(event(1));
      await second.close();
    } finally {
      await store.close();
    }
  });

  test("a read-only log reads and verifies but refuses to append", async () => {
    await writeEvents(tmp.dataDir, 3);
    const { log, close } = await openLog(tmp.dataDir, { readOnly: true });
    try {
      expect(log.head.seq).toBe(3);
      expect(log.tail(5).length).toBe(3);
      expect(thrown(() => log.append(event(4))).code).toBe("ERR_AUDIT_READ_ONLY");
      expect((await log.verify()).ok).toBe(true);
    } finally {
      await close();
    }
  });
});
