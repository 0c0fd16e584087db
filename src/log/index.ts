/**
 * Structured logging: one JSON object per line on stderr (stdout is for command output).
 * `format: text` gives `time level msg key=value…` for humans at a terminal.
 */
import { redactDetails, type RedactLimits } from "../redact/index.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "text";
export type LogFields = Record<string, unknown>;

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line, e.g. `{component: "policy"}`. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; defaults to stderr. */
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const minRank = LEVEL_RANK[options.level ?? "info"];
  const format = options.format ?? "json";
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));

  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVEL_RANK[level] < minRank) return;
    // Same safety net as the audit log: secret-looking keys and values never reach a log line.
    const safe = redactDetails(normalizeErrors({ ...base, ...fields }), LOG_REDACT_LIMITS);
    const record = { time: new Date().toISOString(), level, msg, ...safe };
    write(format === "json" ? JSON.stringify(record) : toText(record));
  };

  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** A logger that drops everything (for library use in tests and one-shot commands). */
export const silentLogger: Logger = createLogger({ write: () => {} });

const LOG_REDACT_LIMITS: RedactLimits = { maxDepth: 6, maxStringLength: 4096, maxArrayItems: 64, maxKeys: 64, maxNodes: 2000, maxBytes: 32_768 };

/** Errors become `{message, code?}` (no stack: it goes nowhere near a log line meant for operators). */
function normalizeErrors(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error) {
      const code = (v as { code?: unknown }).code;
      out[k] = code === undefined ? { message: v.message } : { message: v.message, code };
    } else out[k] = v;
  }
  return out;
}

function toText(record: Record<string, unknown>): string {
  const { time, level, msg, ...rest } = record;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}=${formatValue(v)}`);
  return [time, String(level).toUpperCase().padEnd(5), msg, ...pairs].join(" ");
}

function formatValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}
