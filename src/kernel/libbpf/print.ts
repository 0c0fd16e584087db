/**
 * libbpf's log (its `pr_warn`/`pr_info`/`pr_debug`) routed into sluice's Logger. libbpf hands a
 * printf format and a va_list; libc's vsnprintf formats it, JS reads the text. The callback runs
 * on whichever thread calls libbpf: sluice calls libbpf only from the JS thread.
 *
 * A verifier log is one call with thousands of lines: it is split into lines, the middle of a
 * very long one is elided, and the last warning lines are kept so a failed load carries the
 * verifier's reason (which comes last) in its KernelError.
 */
import { FFIType, JSCallback, ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { createLogger, type Logger } from "../../log/index.ts";
import { libc } from "./libc.ts";
import type { LibbpfSymbols } from "./symbols.ts";

/** enum libbpf_print_level: WARN, INFO, DEBUG. */
const LEVELS = ["warn", "info", "debug"] as const;
const KEEP_WARNINGS = 64;
const HEAD_LINES = 20;
const TAIL_LINES = 80;
const MAX_TEXT = 16 << 20;
/** x86_64's va_list is a pointer to a 24-byte __va_list_tag that vsnprintf advances in place. */
const VA_LIST_BYTES = 24;

let sink: Logger = createLogger({ level: "warn" }).child({ component: "libbpf" });
let debugEnabled = false;
let buffer = new Uint8Array(8192);
const vaSaved = new Uint8Array(VA_LIST_BYTES);
const decoder = new TextDecoder();
const recentWarnings: string[] = [];
let warningsSeen = 0;
let callback: JSCallback | undefined;

/** Where libbpf's lines go from now on (default: warnings to stderr). `debug` also forwards libbpf's debug level. */
export function setLibbpfLogger(logger: Logger, options: { debug?: boolean } = {}): void {
  sink = logger;
  debugEnabled = options.debug ?? false;
}

/** A position in libbpf's warning stream, to collect what one call printed (`warningsSince`). */
export function warningMark(): number {
  return warningsSeen;
}

/** libbpf's warning lines since `mark`, oldest first (at most the last 64). */
export function warningsSince(mark: number): string[] {
  const kept = Math.min(warningsSeen - mark, recentWarnings.length);
  return kept <= 0 ? [] : recentWarnings.slice(-kept);
}

function format(fmt: Pointer, args: Pointer): string {
  const canRetry = process.arch === "x64";
  if (canRetry) vaSaved.set(new Uint8Array(toArrayBuffer(args, 0, VA_LIST_BYTES)));
  let n = libc().vsnprintf(ptr(buffer), buffer.length, fmt, args);
  if (n >= buffer.length && canRetry && n < MAX_TEXT) {
    buffer = new Uint8Array(n + 1);
    new Uint8Array(toArrayBuffer(args, 0, VA_LIST_BYTES)).set(vaSaved);
    n = libc().vsnprintf(ptr(buffer), buffer.length, fmt, args);
  }
  if (n <= 0) return "";
  return decoder.decode(buffer.subarray(0, Math.min(n, buffer.length - 1)));
}

function elide(lines: string[]): string[] {
  if (lines.length <= HEAD_LINES + TAIL_LINES) return lines;
  const omitted = lines.length - HEAD_LINES - TAIL_LINES;
  return [...lines.slice(0, HEAD_LINES), `… ${omitted} lines omitted …`, ...lines.slice(-TAIL_LINES)];
}

function onPrint(level: number, fmt: Pointer, args: Pointer): number {
  const name = LEVELS[level] ?? "debug";
  if (name === "debug" && !debugEnabled) return 0;
  const lines = elide(format(fmt, args).split("\n").map((l) => l.trimEnd()).filter((l) => l !== ""));
  for (const text of lines) {
    if (name === "warn") {
      recentWarnings.push(text);
      warningsSeen++;
      if (recentWarnings.length > KEEP_WARNINGS) recentWarnings.shift();
    }
    sink[name](text);
  }
  return 0;
}

/** Installed once when libbpf is loaded; the callback lives as long as the process. */
export function installPrint(sym: LibbpfSymbols): void {
  if (callback) return;
  callback = new JSCallback(onPrint, { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 });
  sym.libbpf_set_print(callback);
}
