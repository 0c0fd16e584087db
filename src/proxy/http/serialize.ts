/** Writing heads back out (latin1, as they were read) and the proxy's own short responses. */
import type { InjectionDecision, RequestHead, ResponseHead } from "../types.ts";

/** RFC 9110 §7.6.1: connection-specific fields are not forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "upgrade", "proxy-authorization", "proxy-authenticate"]);

const REASONS: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout", 431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported" };

export const reasonFor = (status: number): string => REASONS[status] ?? "Status";

/** Is `lower` one of the hop-by-hop names? (A length switch first: most names are not.) */
function isHopByHop(n: string): boolean {
  switch (n.length) {
    case 2:
    case 7:
    case 10:
    case 16:
    case 18:
    case 19:
      return HOP_BY_HOP.has(n.toLowerCase());
    default:
      return false;
  }
}

/** The request head sent upstream: hop-by-hop fields dropped, then the injector's removals and sets. */
export function upstreamRequestHead(head: RequestHead, decision: Extract<InjectionDecision, { kind: "forward" }>): Uint8Array {
  // Per-request names to drop: usually a handful, so a small array beats copying a Set.
  const drop: string[] = [];
  for (const [n, v] of head.headers) if (n.length === 10 && n.toLowerCase() === "connection") for (const t of v.split(",")) drop.push(t.trim().toLowerCase());
  if (decision.removeHeaders) for (const n of decision.removeHeaders) drop.push(n.toLowerCase());
  if (decision.setHeaders) for (const [n] of decision.setHeaders) drop.push(n.toLowerCase());
  let s = `${head.method} ${head.target} HTTP/1.1\r\n`;
  for (const [n, v] of head.headers) {
    if (isHopByHop(n)) continue;
    if (drop.length > 0 && isDropped(drop, n)) continue;
    s += `${n}: ${v}\r\n`;
  }
  if (decision.setHeaders) for (const [n, v] of decision.setHeaders) s += `${n}: ${v}\r\n`;
  return Buffer.from(s + "\r\n", "latin1");
}

function isDropped(drop: readonly string[], name: string): boolean {
  let lower: string | undefined;
  for (const d of drop) if (d.length === name.length && d === (lower ??= name.toLowerCase())) return true;
  return false;
}

export function responseHeadBytes(head: ResponseHead): Uint8Array {
  let s = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
  for (const [n, v] of head.headers) s += `${n}: ${v}\r\n`;
  return Buffer.from(s + "\r\n", "latin1");
}

/** A complete response from the proxy itself. Header values are sanitized of CR/LF. */
export function simpleResponse(status: number, body: string, options: { headers?: readonly (readonly [string, string])[]; close?: boolean } = {}): Uint8Array {
  const payload = Buffer.from(body, "utf8");
  let s = `HTTP/1.1 ${status} ${reasonFor(status)}\r\n`;
  const own = new Set((options.headers ?? []).map(([n]) => n.toLowerCase()));
  if (!own.has("content-type")) s += "content-type: text/plain; charset=utf-8\r\n";
  for (const [n, v] of options.headers ?? []) if (n.toLowerCase() !== "content-length") s += `${n.replace(/[^!#$%&'*+\-.^_`|~0-9A-Za-z]/g, "")}: ${v.replace(/[\r\n]/g, " ")}\r\n`;
  s += `content-length: ${payload.length}\r\n`;
  if (options.close) s += "connection: close\r\n";
  return Buffer.concat([Buffer.from(s + "\r\n", "latin1"), payload]);
}
