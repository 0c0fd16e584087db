import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrokerError } from "../../../src/broker/index.ts";
import { MAX_SECRET_BYTES, SecretReader } from "../../../src/broker/secrets.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string, mode: number): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

function errorOf(fn: () => unknown): BrokerError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BrokerError) return err;
    throw err;
  }
  throw new Error("expected a BrokerError");
}

describe("SecretReader", () => {
  const reader = new SecretReader({ API_KEY: "from-env", EMPTY: "" });

  test("a 0600 file: value without the trailing newline", () => {
    expect(reader.read({ type: "file", path: file("a", "s3cret\n", 0o600) })).toBe("s3cret");
  });

  test("group-readable (0640) is accepted; world-readable (0644, 0604) is refused naming the fix", () => {
    expect(reader.read({ type: "file", path: file("g", "x", 0o640) })).toBe("x");
    for (const mode of [0o644, 0o604]) {
      const p = file(`w${mode}`, "x", mode);
      const err = errorOf(() => reader.read({ type: "file", path: p }));
      expect(err.code).toBe("ERR_BROKER_SECRET");
      expect(err.message).toContain("world-readable");
      expect(err.message).toContain(`chmod 600 ${p}`);
    }
  });

  test("a file that becomes world-readable after being read is refused from then on", () => {
    const p = file("later", "v1", 0o600);
    expect(reader.read({ type: "file", path: p })).toBe("v1");
    chmodSync(p, 0o644);
    expect(() => reader.read({ type: "file", path: p })).toThrow("world-readable");
  });

  test("a changed file is re-read", () => {
    const p = file("rot", "one", 0o600);
    expect(reader.read({ type: "file", path: p })).toBe("one");
    writeFileSync(p, "two-longer");
    expect(reader.read({ type: "file", path: p })).toBe("two-longer");
  });

  test("missing, empty, multi-line and oversized files are clear errors", () => {
    expect(() => reader.read({ type: "file", path: join(dir, "nope") })).toThrow("ENOENT");
    expect(() => reader.read({ type: "file", path: file("empty", "\n", 0o600) })).toThrow("empty");
    expect(() => reader.read({ type: "file", path: file("lines", "a\nb\n", 0o600) })).toThrow("more than one line");
    expect(() => reader.read({ type: "file", path: file("big", "x".repeat(MAX_SECRET_BYTES + 1), 0o600) })).toThrow("larger than");
    expect(() => reader.read({ type: "file", path: dir })).toThrow("not a regular file");
  });

  test("env: set, unset and empty", () => {
    expect(reader.read({ type: "env", name: "API_KEY" })).toBe("from-env");
    expect(() => reader.read({ type: "env", name: "NOPE" })).toThrow("NOPE");
    expect(() => reader.read({ type: "env", name: "EMPTY" })).toThrow("not set");
  });
});
