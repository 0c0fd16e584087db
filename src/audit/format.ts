import type { AuditRecord, JsonValue } from "./types.ts";

/**
 * One line for humans (`sluice audit tail`):
 * `time kind decision subject pid=… uid=… key=value…`, nested details as dotted keys.
 * Values with spaces, quotes, `=` or control/bidi characters are quoted and escaped, so a hostile
 * subject or detail cannot forge extra fields or send escape sequences to the operator's terminal.
 */
export function formatRecord(record: AuditRecord): string {
  const parts = [record.time, record.kind, record.decision ?? "-", record.subject ?? "-"].map((v) => token(String(v)));
  if (record.pid !== undefined) parts.push(`pid=${token(String(record.pid))}`);
  if (record.uid !== undefined) parts.push(`uid=${token(String(record.uid))}`);
  if (record.details) flatten("", record.details, parts);
  return parts.join(" ");
}

function flatten(prefix: string, value: JsonValue, out: string[]): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(prefix ? `${prefix}.${key}` : key, inner, out);
    return;
  }
  out.push(`${token(prefix)}=${typeof value === "string" ? token(value) : escape(JSON.stringify(value))}`);
}

const NEEDS_QUOTES = /[\s"'=\\\p{Cc}\u2028-\u202e\u2066-\u2069]/u;

function token(text: string): string {
  return text === "" || NEEDS_QUOTES.test(text) ? escape(JSON.stringify(text)) : text;
}

/** JSON.stringify leaves DEL, C1 controls and bidi overrides raw. */
function escape(json: string): string {
  return json.replace(/[\u007f-\u009f\u2028-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
