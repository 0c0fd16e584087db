/** `StatExeFn` implementations: an executable's inode and device (and, optionally, its sha256). */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { ExeStat } from "./types.ts";

const MAX_EXE_HASH_BYTES = 256 * 1024 * 1024;

/** Inode and device of a regular file, or undefined when it is missing or not a file. */
export function statExe(path: string): ExeStat | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return st.isFile() ? { ino: st.ino, dev: st.dev } : undefined;
  } catch {
    return undefined;
  }
}

/** As statExe, plus the content hash so `process:binary:sha256` selectors are checked when the map is built. */
export function statExeWithHash(path: string): ExeStat | undefined {
  const st = statExe(path);
  if (!st) return undefined;
  try {
    const bytes = readFileSync(path);
    return bytes.length <= MAX_EXE_HASH_BYTES ? { ...st, sha256: createHash("sha256").update(bytes).digest("hex") } : st;
  } catch {
    return st;
  }
}
