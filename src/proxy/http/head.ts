/**
 * HTTP/1.1 message heads (RFC 9112 §2–§5), parsed from latin1 text. Strict where laxness enables
 * request smuggling: no obs-fold, no whitespace before the colon, one Content-Length value,
 * Transfer-Encoding and Content-Length never together on a request.
 */
import type { RequestHead, ResponseHead } from "../types.ts";
import { malformed, ProxyError } from "../errors.ts";
import type { HttpLimits } from "./limits.ts";

/** tchar (RFC 9110 §5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field value: VCHAR, obs-text, SP, HTAB (RFC 9110 §5.5). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e]+$/;

export type Headers = readonly (readonly [string, string])[];

/** `strict`: request heads (ours to police); response heads are forwarded as received, only split. */
function parseHeaderLines(lines: string[], from: number, limits: HttpLimits, strict = true): [string, string][] {
  const out: [string, string][] = [];
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    if (!strict) {
      const colon = line.indexOf(":");
      if (colon > 0) out.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
      if (out.length > limits.maxHeaders) throw new ProxyError("ERR_PROXY_UPSTREAM", `upstream sent more than ${limits.maxHeaders} header fields`, 502);
      continue;
    }
    const c0 = line.charCodeAt(0);
    // RFC 9112 §5.2: obs-fold in a request MUST be rejected (400) unless inside message/http.
    if (c0 === 32 || c0 === 9) throw malformed("header line folding (obs-fold) is not allowed");
    const colon = line.indexOf(":");
    if (colon <= 0) throw malformed("header line without a name and colon");
    const name = line.slice(0, colon);
    // RFC 9112 §5.1: no whitespace between field name and colon; MUST reject with 400.
    if (!TOKEN.test(name)) throw malformed(`invalid header name ${JSON.stringify(name.slice(0, 64))}`);
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) throw malformed(`invalid characters in header ${name}`);
    out.push([name, value]);
    if (out.length > limits.maxHeaders) throw new ProxyError("ERR_PROXY_HEAD_TOO_LARGE", `more than ${limits.maxHeaders} header fields`, 431);
  }
  return out;
}

/** `text` is the head without its final CRLFCRLF. */
export function parseRequestHead(text: string, limits: HttpLimits): RequestHead {
  const lines = text.split("\r\n");
  const line = lines[0]!;
  const a = line.indexOf(" ");
  const b = line.lastIndexOf(" ");
  if (a <= 0 || b === a) throw malformed("request line is not `METHOD target HTTP/1.1`");
  const method = line.slice(0, a);
  const target = line.slice(a + 1, b);
  const version = line.slice(b + 1);
  if (!TOKEN.test(method)) throw malformed("invalid request method");
  if (!TARGET.test(target)) throw malformed("invalid request target");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") throw new ProxyError("ERR_PROXY_UNSUPPORTED", `unsupported protocol version ${JSON.stringify(version.slice(0, 16))}`, version.startsWith("HTTP/") ? 505 : 400);
  return { method, target, version, headers: parseHeaderLines(lines, 1, limits) };
}

export function parseResponseHead(text: string, limits: HttpLimits): ResponseHead & { version: string } {
  const lines = text.split("\r\n");
  const line = lines[0]!;
  const m = /^(HTTP\/1\.[01]) ([0-9]{3})(?: (.*))?$/.exec(line);
  if (!m) throw new ProxyError("ERR_PROXY_UPSTREAM", "upstream sent an invalid status line", 502);
  return { version: m[1]!, status: Number(m[2]), reason: m[3] ?? "", headers: parseHeaderLines(lines, 1, limits, false) };
}

export function headerValues(headers: Headers, lowerName: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) if (n.length === lowerName.length && n.toLowerCase() === lowerName) out.push(v);
  return out;
}

/** Comma-separated tokens across all fields of a list header, lowercased. */
export function headerTokens(headers: Headers, lowerName: string): string[] {
  const out: string[] = [];
  for (const v of headerValues(headers, lowerName)) for (const t of v.split(",")) if (t.trim()) out.push(t.trim().toLowerCase());
  return out;
}

export type BodyFraming = { readonly kind: "none" } | { readonly kind: "length"; readonly length: number } | { readonly kind: "chunked" } | { readonly kind: "close" };

function contentLength(headers: Headers): number | undefined {
  const values = headerValues(headers, "content-length");
  if (values.length === 0) return undefined;
  const all = values.flatMap((v) => v.split(",").map((s) => s.trim()));
  // RFC 9112 §6.3 item 5: differing or invalid Content-Length values are unrecoverable.
  if (!all.every((v) => /^[0-9]{1,15}$/.test(v)) || new Set(all).size !== 1) throw malformed("invalid Content-Length");
  return Number(all[0]);
}

/** RFC 9112 §6.3, for a request. */
export function requestFraming(head: RequestHead): BodyFraming {
  const te = headerTokens(head.headers, "transfer-encoding");
  const cl = contentLength(head.headers);
  if (te.length > 0) {
    if (head.version === "HTTP/1.0") throw malformed("Transfer-Encoding in an HTTP/1.0 request");
    // §6.1: both present is a smuggling vector; reject rather than guess.
    if (cl !== undefined) throw malformed("both Transfer-Encoding and Content-Length");
    // §6.3 item 4: chunked must be the final coding, else 400.
    if (te[te.length - 1] !== "chunked") throw malformed("Transfer-Encoding without final chunked");
    if (te.length > 1) throw new ProxyError("ERR_PROXY_UNSUPPORTED", `unsupported transfer coding ${te.slice(0, -1).join(", ")}`, 501);
    return { kind: "chunked" };
  }
  if (cl !== undefined) return cl === 0 ? { kind: "none" } : { kind: "length", length: cl };
  return { kind: "none" };
}

/** RFC 9112 §6.3, for a response to `method`. */
export function responseFraming(method: string, status: number, headers: Headers): BodyFraming {
  if (method === "HEAD" || (status >= 100 && status < 200) || status === 204 || status === 304) return { kind: "none" };
  const te = headerTokens(headers, "transfer-encoding");
  if (te.length > 0) return te[te.length - 1] === "chunked" ? { kind: "chunked" } : { kind: "close" };
  let cl: number | undefined;
  try {
    cl = contentLength(headers);
  } catch {
    throw new ProxyError("ERR_PROXY_UPSTREAM", "upstream sent an invalid Content-Length", 502);
  }
  if (cl !== undefined) return cl === 0 ? { kind: "none" } : { kind: "length", length: cl };
  return { kind: "close" };
}

/** Does the sender of these headers want the connection closed after this message (RFC 9112 §9.3)? */
export function wantsClose(version: string, headers: Headers): boolean {
  const c = headerTokens(headers, "connection");
  if (c.includes("close")) return true;
  return version === "HTTP/1.0" && !c.includes("keep-alive");
}
