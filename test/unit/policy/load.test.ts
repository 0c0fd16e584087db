/** readPolicyDir / loadPolicyDir against a real temp directory. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDiagnostic, isPolicyFileName, loadPolicyDir, readPolicyDir } from "../../../src/policy/index.ts";
import { MIN_SELECTORS, wi } from "./helpers.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-policy-load-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("readPolicyDir", () => {
  test("file name filter", () => {
    for (const n of ["a.yaml", "10-claude.yml", "x.y.yaml"]) expect(isPolicyFileName(n)).toBe(true);
    for (const n of [".hidden.yaml", ".#a.yaml", "#a.yaml#", "a.yaml~", "a.yaml.swp", ".a.yaml.swp", "a.json", "a.yaml.bak", "4913"]) expect(isPolicyFileName(n)).toBe(false);
  });

  test("only *.yaml/*.yml directly in the dir, sorted by name; subdirectories ignored", () => {
    for (const n of ["b.yml", "a.yaml", ".a.yaml", "a.yaml~", "notes.txt"]) writeFileSync(join(dir, n), "x: 1\n");
    mkdirSync(join(dir, "sub.yaml"));
    writeFileSync(join(dir, "sub.yaml", "c.yaml"), "x: 1\n");
    const r = readPolicyDir(dir);
    expect(r.files.map((f) => f.path)).toEqual([join(dir, "a.yaml"), join(dir, "b.yml")]);
    expect(r.diagnostics).toEqual([]);
    expect(r.missing).toBe(false);
  });

  test("symlinked files are followed", () => {
    writeFileSync(join(dir, "real.txt"), "x: 1\n");
    symlinkSync(join(dir, "real.txt"), join(dir, "link.yaml"));
    expect(readPolicyDir(dir).files.map((f) => f.text)).toEqual(["x: 1\n"]);
  });

  test("a missing directory is an empty set with a warning", async () => {
    const missing = join(dir, "nope");
    const r = await loadPolicyDir(missing, { trustDomain: "sluice.local" });
    expect(r.missing).toBe(true);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([`${missing}:1:1: warning: policy directory ${missing} does not exist: nothing is managed (sluice init writes example policies)`]);
    expect(r.snapshot?.stats.workloads).toBe(0);
  });

  test("a file instead of a directory is an error", () => {
    writeFileSync(join(dir, "f"), "");
    expect(readPolicyDir(join(dir, "f")).diagnostics.map((d) => d.message)).toEqual([`policy directory ${join(dir, "f")} is not a directory`]);
  });

  test("a FIFO named *.yaml is skipped with a warning instead of hanging", () => {
    const fifo = join(dir, "pipe.yaml");
    const r = Bun.spawnSync(["mkfifo", fifo]);
    if (r.exitCode !== 0) return; // no mkfifo: nothing to test
    const t0 = performance.now();
    const read = readPolicyDir(dir);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(read.diagnostics.map(formatDiagnostic)).toEqual([`${fifo}:1:1: warning: not a regular file; skipped`]);
  });

  test("size limits: per file and number of files", () => {
    writeFileSync(join(dir, "big.yaml"), "x".repeat(2_000));
    writeFileSync(join(dir, "ok.yaml"), "x: 1\n");
    expect(readPolicyDir(dir, { maxFileBytes: 1_000 }).diagnostics.map(formatDiagnostic)).toEqual([`${join(dir, "big.yaml")}:1:1: error: file is 2000 bytes; the limit is 1000`]);
    expect(readPolicyDir(dir, { maxFiles: 1 }).diagnostics.map((d) => d.message)).toEqual([`2 policy files in ${dir}; the limit is 1`]);
  });

  test("invalid UTF-8 is an error at the file", () => {
    writeFileSync(join(dir, "bad.yaml"), Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    expect(readPolicyDir(dir).diagnostics.map(formatDiagnostic)).toEqual([`${join(dir, "bad.yaml")}:1:1: error: file is not valid UTF-8`]);
  });

  test("all errors across files, sorted by file and line", async () => {
    writeFileSync(join(dir, "b.yaml"), wi("  workloadID: claude/\n" + MIN_SELECTORS));
    writeFileSync(join(dir, "a.yaml"), wi(MIN_SELECTORS + "  egres: []\n  workloadID: x\n", "a"));
    const r = await loadPolicyDir(dir, { trustDomain: "sluice.local" });
    expect(r.snapshot).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.file.slice(dir.length + 1)}:${d.line}:${d.col}`)).toEqual(["a.yaml:6:3", "b.yaml:5:15"]);
  });
});
