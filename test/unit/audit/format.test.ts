import { describe, expect, test } from "bun:test";
import { canonicalJson, formatRecord, GENESIS_HASH, type AuditRecord } from "../../../src/audit/index.ts";
import { RecordEncoding } from "../../../src/audit/encode.ts";

const base: AuditRecord = {
  seq: 7,
  time: "2025-06-01T12:00:00.000Z",
  kind: "egress.deny",
  decision: "deny",
  subject: "spiffe://acme.corp/claude",
  pid: 4242,
  uid: 1000,
  details: { dest: "203.0.113.9:443", reason: "no egress rule", policy: { file: "claude.yaml", line: 12 } },
  prev: GENESIS_HASH,
  hash: "ab".repeat(32),
};

describe("formatRecord", () => {
  test("time kind decision subject pid= uid= then details as key=value, nested keys dotted", () => {
    expect(formatRecord(base)).toBe(
      '2025-06-01T12:00:00.000Z egress.deny deny spiffe://acme.corp/claude pid=4242 uid=1000 dest=203.0.113.9:443 reason="no egress rule" policy.file=claude.yaml policy.line=12',
    );
  });

  test("absent fields print as - or are left out", () => {
    expect(formatRecord({ seq: 1, time: base.time, kind: "policy.reload", prev: GENESIS_HASH, hash: base.hash })).toBe("2025-06-01T12:00:00.000Z policy.reload - -");
  });

  test("hostile text cannot add fields or reach the terminal raw", () => {
    const line = formatRecord({
      ...base,
      subject: "spiffe://x/a pid=1",
      details: { "k=v": "a\nb", esc: "\u001b[2J", c1: "\u009b31m", bidi: "\u202egnp.exe", arr: ["\u001b"] },
    });
    expect(line).toContain('"spiffe://x/a pid=1"');
    expect(line).toContain('"k=v"="a\\nb"');
    expect(line).toContain('esc="\\u001b[2J"');
    expect(line).toContain('c1="\\u009b31m"');
    expect(line).toContain('bidi="\\u202egnp.exe"');
    expect(line).toContain('arr=["\\u001b"]');
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
  });
});

describe("canonicalJson", () => {
  test("sorted keys at every level, no whitespace, undefined skipped", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  test("key order follows UTF-16 code units (as RFC 8785)", () => {
    expect(canonicalJson({ "\u20ac": 1, "\r": 2, "\ud83d\ude00": 3, "1": 4, a: 5, B: 6 })).toBe('{"\\r":2,"1":4,"B":6,"a":5,"€":1,"😀":3}');
  });

  test("values without a JSON form are refused", () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ b: 1n })).toThrow(TypeError);
  });
});

describe("RecordEncoding (hot-path encoder)", () => {
  test("produces exactly canonicalJson's output, with and without hash, for every combination of optional fields", () => {
    const optional = {
      decision: "audit" as const,
      details: { z: [1, { b: "\u2028", a: null }], "é": "ü", a: "\"quoted\"" },
      subject: "spiffe://acme.corp/a \"b\"",
      pid: 0,
      uid: 4294967295,
    };
    const names = Object.keys(optional) as (keyof typeof optional)[];
    for (let mask = 0; mask < 1 << names.length; mask++) {
      const record: Omit<AuditRecord, "hash"> = { seq: 123456, time: "2025-06-01T12:00:00.000Z", kind: "token.issue", prev: GENESIS_HASH };
      names.forEach((name, bit) => {
        if (mask & (1 << bit)) Object.assign(record, { [name]: optional[name] });
      });
      const encoding = new RecordEncoding(record);
      expect(encoding.withoutHash()).toBe(canonicalJson(record));
      expect(encoding.withHash("cd".repeat(32))).toBe(canonicalJson({ ...record, hash: "cd".repeat(32) }));
    }
  });
});
