/**
 * HTTP/1.1 message heads (RFC 9112 §2–§5), parsed from latin1 text. Strict where laxness enables
 * request smuggling: no obs-fold, no whitespace before the colon, one Content-Length value,
 * Transfer-Encoding and Content-Length never together on a request.
 */
import type { RequestHead, ResponseHead } from "../types.ts";
import { malformed, ProxyError } from "../errors.ts";
import type { HttpLimits } from "./limits.ts";

/** tchar (RFC 9110 §5.6.2), as a lookup table: the parser runs per request on the data path. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** Field value: VCHAR, obs-text, SP, HTAB (RFC 9110 §5.5). Input is latin1 (code units ≤ 0xff). */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 9) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** Request target: visible ASCII only. */
function isTarget(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

export type Headers = readonly (readonly [string, string])[];

/**
 * Header lines of `text` from offset `from` (lines separated by CRLF; `text` ends without one).
 * `strict`: request heads (ours to police); response heads are forwarded as received, only split.
 */
function parseHeaderLines(text: string, from: number, limits: HttpLimits, strict: boolean): [string, string][] {
  const out: [string, string][] = [];
  let pos = from;
  while (pos < text.length) {
    let eol = text.indexOf("\r\n", pos);
    if (eol < 0) eol = text.length;
    const start = pos;
    pos = eol + 2;
    if (eol === start) continue;
    const colon = text.indexOf(":", start);
    if (!strict) {
      if (colon > start && colon < eol) out.push([text.slice(start, colon), text.slice(colon + 1, eol).trim()]);
      if (out.length > limits.maxHeaders) throw new ProxyError("ERR_PROXY_UPSTREAM", `upstream sent more than ${limits.maxHeaders} header fields`, 502);
      continue;
    }
    const c0 = text.charCodeAt(start);
    // RFC 9112 §5.2: obs-fold in a request MUST be rejected (400) unless inside message/http.
    if (c0 === 32 || c0 === 9) throw malformed("header line folding (obs-fold) is not allowed");
    if (colon <= start || colon > eol) throw malformed("header line without a name and colon");
    const name = text.slice(start, colon);
    // RFC 9112 §5.1: no whitespace between field name and colon; MUST reject with 400.
    if (!isToken(name)) throw malformed(`invalid header name ${JSON.stringify(name.slice(0, 64))}`);
    const value = text.slice(colon + 1, eol).trim();
    if (!isFieldValue(value)) throw malformed(`invalid characters in header ${name}`);
    out.push([name, value]);
    if (out.length > limits.maxHeaders) throw new ProxyError("ERR_PROXY_HEAD_TOO_LARGE", `more than ${limits.maxHeaders} header fields`, 431);
  }
  return out;
}

/** `text` is the head without its final CRLFCRLF. */
export function parseRequestHead(text: string, limits: HttpLimits): RequestHead {
  let eol = text.indexOf("\r\n");
  if (eol < 0) eol = text.length;
  const a = text.indexOf(" ");
  const b = text.lastIndexOf(" ", eol - 1);
  if (a <= 0 || a >= eol || b === a) throw malformed("request line is not `METHOD target HTTP/1.1`");
  const method = text.slice(0, a);
  const target = text.slice(a + 1, b);
  const version = text.slice(b + 1, eol);
  if (!isToken(method)) throw malformed("invalid request method");
  if (!isTarget(target)) throw malformed("invalid request target");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") throw new ProxyError("ERR_PROXY_UNSUPPORTED", `unsupported protocol version ${JSON.stringify(version.slice(0, 16))}`, version.startsWith("HTTP/") ? 505 : 400);
  return { method, target, version, headers: parseHeaderLines(text, eol + 2, limits, true) };
}

export function parseResponseHead(text: string, limits: HttpLimits): ResponseHead & { version: string } {
  let eol = text.indexOf("\r\n");
  if (eol < 0) eol = text.length;
  // status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] (RFC 9112 §4); a bare "HTTP/1.1 200" is tolerated.
  const version = text.slice(0, 8);
  const d0 = text.charCodeAt(9) - 48, d1 = text.charCodeAt(10) - 48, d2 = text.charCodeAt(11) - 48;
  const valid =
    (version === "HTTP/1.1" || version === "HTTP/1.0") && text.charCodeAt(8) === 32 && eol >= 12 &&
    d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9 && (eol === 12 || text.charCodeAt(12) === 32);
  if (!valid) throw new ProxyError("ERR_PROXY_UPSTREAM", "upstream sent an invalid status line", 502);
  return { version, status: d0 * 100 + d1 * 10 + d2, reason: eol > 13 ? text.slice(13, eol) : "", headers: parseHeaderLines(text, eol + 2, limits, false) };
}

export function headerValues(headers: Headers, lowerName: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) if (n.length === lowerName.length && n.toLowerCase() === lowerName) out.push(v);
  return out;
}

const NO_TOKENS: readonly string[] = [];

function hasHeader(headers: Headers, lowerName: string): boolean {
  for (const [n] of headers) if (n.length === lowerName.length && n.toLowerCase() === lowerName) return true;
  return false;
}

/** Comma-separated tokens across all fields of a list header, lowercased. */
export function headerTokens(headers: Headers, lowerName: string): string[] {
  const out: string[] = [];
  for (const v of headerValues(headers, lowerName)) for (const t of v.split(",")) if (t.trim()) out.push(t.trim().toLowerCase());
  return out;
}

export type BodyFraming = { readonly kind: "none" } | { readonly kind: "length"; readonly length: number } | { readonly kind: "chunked" } | { readonly kind: "close" };

// Shared, frozen: framing is decided twice per exchange.
const NONE: BodyFraming = Object.freeze({ kind: "none" });
const CHUNKED: BodyFraming = Object.freeze({ kind: "chunked" });
const CLOSE: BodyFraming = Object.freeze({ kind: "close" });

/** Every Content-Length value (fields and comma-separated lists) must be the same digits. */
function contentLength(headers: Headers): number | undefined {
  let first: string | undefined;
  for (const [name, value] of headers) {
    if (name.length !== 14 || name.toLowerCase() !== "content-length") continue;
    for (const part of value.includes(",") ? value.split(",") : [value]) {
      const v = part.trim();
      // RFC 9112 §6.3 item 5: differing or invalid Content-Length values are unrecoverable.
      if (first === undefined) {
        if (!isDigits(v)) throw malformed("invalid Content-Length");
        first = v;
      } else if (v !== first) throw malformed("invalid Content-Length");
    }
  }
  return first === undefined ? undefined : Number(first);
}

function isDigits(v: string): boolean {
  if (v.length === 0 || v.length > 15) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** RFC 9112 §6.3, for a request. */
export function requestFraming(head: RequestHead): BodyFraming {
  const te = hasHeader(head.headers, "transfer-encoding") ? headerTokens(head.headers, "transfer-encoding") : NO_TOKENS;
  const cl = contentLength(head.headers);
  if (te.length > 0) {
    if (head.version === "HTTP/1.0") throw malformed("Transfer-Encoding in an HTTP/1.0 request");
    // §6.1: both present is a smuggling vector; reject rather than guess.
    if (cl !== undefined) throw malformed("both Transfer-Encoding and Content-Length");
    // §6.3 item 4: chunked must be the final coding, else 400.
    if (te[te.length - 1] !== "chunked") throw malformed("Transfer-Encoding without final chunked");
    if (te.length > 1) throw new ProxyError("ERR_PROXY_UNSUPPORTED", `unsupported transfer coding ${te.slice(0, -1).join(", ")}`, 501);
    return CHUNKED;
  }
  if (cl !== undefined) return cl === 0 ? NONE : { kind: "length", length: cl };
  return NONE;
}

/** RFC 9112 §6.3, for a response to `method`. */
export function responseFraming(method: string, status: number, headers: Headers): BodyFraming {
  if (method === "HEAD" || (status >= 100 && status < 200) || status === 204 || status === 304) return NONE;
  const te = hasHeader(headers, "transfer-encoding") ? headerTokens(headers, "transfer-encoding") : NO_TOKENS;
  if (te.length > 0) return te[te.length - 1] === "chunked" ? CHUNKED : CLOSE;
  let cl: number | undefined;
  try {
    cl = contentLength(headers);
  } catch {
    throw new ProxyError("ERR_PROXY_UPSTREAM", "upstream sent an invalid Content-Length", 502);
  }
  if (cl !== undefined) return cl === 0 ? NONE : { kind: "length", length: cl };
  return CLOSE;
}

/** Does the sender of these headers want the connection closed after this message (RFC 9112 §9.3)? */
export function wantsClose(version: string, headers: Headers): boolean {
  let any = false;
  for (const [n] of headers) if (n.length === 10 && n.toLowerCase() === "connection") any = true;
  if (!any) return version === "HTTP/1.0";
  const c = headerTokens(headers, "connection");
  if (c.includes("close")) return true;
  return version === "HTTP/1.0" && !c.includes("keep-alive");
}
