/**
 * Reading a policy directory: every `*.yaml` / `*.yml` directly in it (not recursive), sorted by
 * name, skipping dotfiles and editor leftovers. Files are opened non-blocking and checked to be
 * regular before reading, so a FIFO or device dropped in the directory cannot hang the daemon.
 */
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../errors/index.ts";
import { diagnostic, type Diagnostic } from "../schema/index.ts";
import type { PolicySourceFile } from "./types.ts";

export interface LoadLimits {
  readonly maxFiles: number;
  readonly maxFileBytes: number;
  readonly maxTotalBytes: number;
}

export const DEFAULT_LOAD_LIMITS: LoadLimits = Object.freeze({ maxFiles: 1_000, maxFileBytes: 4 * 1024 * 1024, maxTotalBytes: 32 * 1024 * 1024 });

export interface DirRead {
  readonly files: readonly PolicySourceFile[];
  readonly diagnostics: readonly Diagnostic[];
  /** The directory does not exist (an empty set with a warning, not an error). */
  readonly missing: boolean;
}

/** Codes a caller may retry on: the directory changed under us (an editor mid-save). */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(["policy.file-vanished"]);

export function isPolicyFileName(name: string): boolean {
  if (name.startsWith(".") || name.startsWith("#") || name.endsWith("~")) return false;
  return name.endsWith(".yaml") || name.endsWith(".yml");
}

const decoder = new TextDecoder("utf-8", { fatal: true });

export function readPolicyDir(dir: string, limits: Partial<LoadLimits> = {}): DirRead {
  const lim = { ...DEFAULT_LOAD_LIMITS, ...limits };
  const at = (file: string) => ({ file, line: 1, col: 1 });
  let names: string[];
  try {
    names = readdirSync(dir).filter(isPolicyFileName).sort();
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT")
      return { files: [], missing: true, diagnostics: [diagnostic("warning", at(dir), `policy directory ${dir} does not exist: nothing is managed (sluice init writes example policies)`, "policy.dir-missing")] };
    const why = code === "ENOTDIR" ? "is not a directory" : code === "EACCES" ? `is not readable by uid ${process.getuid?.()}` : `cannot be read: ${(err as Error).message}`;
    return { files: [], missing: false, diagnostics: [diagnostic("error", at(dir), `policy directory ${dir} ${why}`, "policy.dir")] };
  }
  const diagnostics: Diagnostic[] = [];
  if (names.length > lim.maxFiles) {
    diagnostics.push(diagnostic("error", at(dir), `${names.length} policy files in ${dir}; the limit is ${lim.maxFiles}`, "limit.files"));
    return { files: [], missing: false, diagnostics };
  }
  const files: PolicySourceFile[] = [];
  let total = 0;
  for (const name of names) {
    const path = join(dir, name);
    const r = readOne(path, lim.maxFileBytes);
    if ("skip" in r) continue;
    if ("problem" in r) {
      diagnostics.push(diagnostic(r.severity, at(path), r.problem, r.code));
      continue;
    }
    total += r.bytes;
    if (total > lim.maxTotalBytes) {
      diagnostics.push(diagnostic("error", at(path), `policy files in ${dir} exceed ${lim.maxTotalBytes} bytes in total`, "limit.size"));
      break;
    }
    files.push({ path, text: r.text });
  }
  return { files, diagnostics, missing: false };
}

type ReadResult = { text: string; bytes: number } | { problem: string; code: string; severity: "error" | "warning" } | { skip: true };

function readOne(path: string, maxBytes: number): ReadResult {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT") return { problem: "file disappeared while reading the directory (being saved?); retrying", code: "policy.file-vanished", severity: "error" };
    if (code === "EISDIR") return { skip: true };
    return { problem: `cannot open: ${code === "EACCES" ? `permission denied for uid ${process.getuid?.()}` : (err as Error).message}`, code: "policy.read", severity: "error" };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return { skip: true };
    if (!st.isFile()) return { problem: "not a regular file; skipped", code: "policy.not-a-file", severity: "warning" };
    if (st.size > maxBytes) return { problem: `file is ${st.size} bytes; the limit is ${maxBytes}`, code: "limit.size", severity: "error" };
    // Read at most maxBytes + 1, in case the file grows between fstat and read.
    const buf = Buffer.allocUnsafe(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) break;
    }
    if (n > maxBytes) return { problem: `file is larger than ${maxBytes} bytes`, code: "limit.size", severity: "error" };
    try {
      return { text: decoder.decode(buf.subarray(0, n)), bytes: n };
    } catch {
      return { problem: "file is not valid UTF-8", code: "policy.encoding", severity: "error" };
    }
  } finally {
    closeSync(fd);
  }
}
