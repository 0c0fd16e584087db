import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalJson, type AuditRecord, type VerifyResult } from "../../../src/audit/index.ts";
import { openLog, tamperLmdb, tempRoot, writeEvents } from "./helpers.ts";

let tmp: ReturnType<typeof tempRoot>;
beforeEach(() => {
  tmp = tempRoot("sluice-audit-");
});
afterEach(() => tmp.cleanup());

const mirrorPath = () => join(tmp.dataDir, "audit.jsonl");
const mirrorLines = () => readFileSync(mirrorPath(), "utf8").trimEnd().split("\n");
const writeMirror = (lines: string[]) => writeFileSync(mirrorPath(), lines.map((l) => l + "\n").join(""));

/** Verify from a read-only store, as `sluice audit verify` would. */
async function verify(): Promise<VerifyResult> {
  const { log, close } = await openLog(tmp.dataDir, { readOnly: true });
  try {
    return await log.verify();
  } finally {
    await close();
  }
}

const summary = (r: VerifyResult) => r.problems.map((p) => `${p.where}:${p.seq}`);

describe("audit verify detects tampering", () => {
  test("a changed record in LMDB (details edited, hash left alone) is reported at its seq", async () => {
    await writeEvents(tmp.dataDir, 10);
    await tamperLmdb(tmp.dataDir, (audit) => {
      const record = JSON.parse(audit.get(4)!) as AuditRecord;
      audit.putSync(4, canonicalJson({ ...record, details: { ...record.details, dest: "evil.example:443" } }));
    });
    const result = await verify();
    expect(result.ok).toBe(false);
    expect(result.firstBad).toMatchObject({ seq: 4, where: "store" });
    expect(result.firstBad!.reason).toContain("hash mismatch");
    // The mirror still holds the original, which now differs from the store.
    expect(summary(result)).toEqual(["store:4", "mirror:4"]);
    expect(result.problems[1]!.reason).toContain("differs from the store's record 4");
    expect(result.checked).toBe(10);
  });

  test("a record re-hashed without the key (plain SHA-256) still fails, and so does the link to it", async () => {
    await writeEvents(tmp.dataDir, 5);
    await tamperLmdb(tmp.dataDir, (audit) => {
      const { hash: _, ...body } = JSON.parse(audit.get(2)!) as AuditRecord;
      const forged = { ...body, decision: "allow" as const };
      const hash = new Bun.CryptoHasher("sha256").update(Buffer.from(forged.prev, "hex")).update(canonicalJson(forged)).digest("hex");
      audit.putSync(2, canonicalJson({ ...forged, hash }));
    });
    const result = await verify();
    expect(result.problems.filter((p) => p.where === "store").map((p) => [p.seq, p.reason.split(":")[0]])).toEqual([
      [2, "hash mismatch"],
      [3, "prev does not match the hash of record 2 (a record was replaced or the chain re-linked)"],
    ]);
  });

  test("a record rewritten with the same content but other bytes, and one that is not JSON, are reported", async () => {
    await writeEvents(tmp.dataDir, 4);
    await tamperLmdb(tmp.dataDir, (audit) => {
      audit.putSync(2, JSON.stringify(JSON.parse(audit.get(2)!), null, 1));
      audit.putSync(3, "garbage");
    });
    const result = await verify();
    expect(result.problems.filter((p) => p.where === "store")).toEqual([
      { seq: 2, where: "store", reason: "record was re-encoded (same hashed content, different bytes)" },
      { seq: 3, where: "store", reason: "record is malformed (not an audit record)" },
    ]);
    // Readers show the damaged record instead of failing.
    const { log, close } = await openLog(tmp.dataDir, { readOnly: true });
    expect(log.tail(2).map((r) => r.kind)).toEqual(["audit.unreadable", "egress.allow"]);
    await close();
  });

  test("a record removed from the middle is reported as a gap", async () => {
    await writeEvents(tmp.dataDir, 10);
    await tamperLmdb(tmp.dataDir, (audit) => audit.removeSync(5));
    const result = await verify();
    expect(result.firstBad).toMatchObject({ seq: 5, where: "store", reason: "record 5 is missing (deleted from the store)" });
    // The mirror still has line 5: evidence of what was removed.
    expect(result.problems.find((p) => p.where === "mirror")).toMatchObject({ seq: 5, reason: "mirror line 5 has seq 5, which the store does not have" });
    expect(result.checked).toBe(9);
  });

  test("several records removed from the middle are reported as one range", async () => {
    await writeEvents(tmp.dataDir, 10);
    await tamperLmdb(tmp.dataDir, (audit) => [3, 4, 5].forEach((s) => audit.removeSync(s)));
    const result = await verify();
    expect(result.firstBad?.reason).toBe("records 3–5 are missing (deleted from the store)");
  });

  test("records removed from the end are caught by the head", async () => {
    await writeEvents(tmp.dataDir, 10);
    await tamperLmdb(tmp.dataDir, (audit) => audit.removeSync(10));
    let result = await verify();
    expect(result.firstBad).toMatchObject({ seq: 10, where: "store" });
    expect(result.firstBad!.reason).toBe("record 10 is missing at the end (the head says the log reached seq 10)");

    await tamperLmdb(tmp.dataDir, (audit) => [8, 9].forEach((s) => audit.removeSync(s)));
    result = await verify();
    expect(result.firstBad!.reason).toBe("records 8–10 are missing at the end (the head says the log reached seq 10)");
  });

  test("after truncation the writer keeps counting from the head, so the hole stays visible", async () => {
    await writeEvents(tmp.dataDir, 6);
    await tamperLmdb(tmp.dataDir, (audit) => audit.removeSync(6));
    const { log, close } = await openLog(tmp.dataDir);
    expect(log.append({ kind: "policy.reload" }).seq).toBe(7);
    await close();
    const result = await verify();
    expect(result.firstBad).toMatchObject({ seq: 6, where: "store", reason: "record 6 is missing (deleted from the store)" });
  });

  test("a head rolled back behind the records is reported", async () => {
    await writeEvents(tmp.dataDir, 4);
    await tamperLmdb(tmp.dataDir, (audit, meta) => meta.putSync("audit.head", { seq: 2, hash: (JSON.parse(audit.get(2)!) as AuditRecord).hash }));
    const result = await verify();
    expect(result.firstBad).toMatchObject({ seq: 3, where: "store" });
    expect(result.firstBad!.reason).toContain("beyond the head (seq 2)");
  });

  test("an edited JSON line is reported with its line number and seq", async () => {
    await writeEvents(tmp.dataDir, 6);
    const lines = mirrorLines();
    lines[2] = lines[2]!.replace("10.0.0.3:443", "10.0.0.99:443");
    writeMirror(lines);
    const result = await verify();
    expect(result.problems).toEqual([{ seq: 3, where: "mirror", reason: "mirror line 3 differs from the store's record 3 (edited)" }]);
  });

  test("a deleted JSON line is reported as missing from the mirror", async () => {
    await writeEvents(tmp.dataDir, 6);
    writeMirror(mirrorLines().filter((_, i) => i !== 1));
    const result = await verify();
    expect(result.problems).toEqual([{ seq: 2, where: "mirror", reason: `record 2 is missing from the mirror ${mirrorPath()}` }]);
  });

  test("an extra, a duplicated and a garbage line are each reported", async () => {
    await writeEvents(tmp.dataDir, 3);
    const lines = mirrorLines();
    const fake = JSON.parse(lines[2]!) as AuditRecord;
    writeMirror([lines[0]!, lines[0]!, "not json at all", lines[1]!, lines[2]!, canonicalJson({ ...fake, seq: 4 })]);
    const result = await verify();
    expect(result.problems.map((p) => p.reason)).toEqual([
      "mirror line 2 repeats seq 1 (duplicated or out of order)",
      "mirror line 3 is not a valid audit record",
      "mirror line 6 has seq 4, which the store does not have",
    ]);
  });

  test("a deleted mirror is reported as one range, and a restarted writer rebuilds it from the store", async () => {
    await writeEvents(tmp.dataDir, 5);
    rmSync(mirrorPath());
    const result = await verify();
    expect(result.problems).toEqual([{ seq: 1, where: "mirror", reason: `records 1–5 are missing from the mirror ${mirrorPath()}` }]);

    await writeEvents(tmp.dataDir, 1, 6);
    expect((await verify()).ok).toBe(true);
    expect(mirrorLines().length).toBe(6);
  });

  test("a mirror that lost its tail in a crash (torn last line) is repaired on the next open", async () => {
    await writeEvents(tmp.dataDir, 5);
    const lines = mirrorLines();
    writeFileSync(mirrorPath(), lines.slice(0, 3).join("\n") + "\n" + lines[3]!.slice(0, 40)); // torn write of seq 4
    await writeEvents(tmp.dataDir, 1, 6);
    const result = await verify();
    // The torn fragment stays (evidence), terminated; seqs 4 and 5 were copied from the store.
    expect(result.problems).toEqual([{ seq: 4, where: "mirror", reason: "mirror line 4 is not a valid audit record" }]);
    const seqs = mirrorLines().map((line) => {
      try {
        return (JSON.parse(line) as AuditRecord).seq;
      } catch {
        return null;
      }
    });
    expect(seqs).toEqual([1, 2, 3, null, 4, 5, 6]);
  });

  test("a flood of problems is capped, the rest counted", async () => {
    await writeEvents(tmp.dataDir, 1100);
    writeMirror(mirrorLines().map((line) => line.replace('"uid":1000', '"uid":0')));
    const result = await verify();
    expect(result.problems.length).toBe(1000);
    expect(result.omitted).toBe(100);
    expect(result.firstBad).toMatchObject({ seq: 1, where: "mirror" });
  });
});
