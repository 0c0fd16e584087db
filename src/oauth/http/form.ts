/**
 * application/x-www-form-urlencoded bodies of token, introspection and revocation requests, read
 * with limits: size (streamed, never buffered past the cap), parameter count and lengths, and
 * duplicates refused (RFC 6749 §3.1, §3.2: "Request and response parameters MUST NOT be included
 * more than once").
 */
import { OAuthError } from "../types.ts";
import { OAUTH_LIMITS } from "./limits.ts";
import { BodyTooLarge, readCapped } from "../../io/index.ts";

export async function readForm(request: Request, limits = OAUTH_LIMITS): Promise<URLSearchParams> {
  if (request.method !== "POST") throw new OAuthError("invalid_request", "use POST (RFC 6749 §3.2)", { status: 405, headers: { allow: "POST" } });
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded")
    throw new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded (RFC 6749 §3.2)", { status: 415 });
  const declared = request.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= limits.maxFormBytes)) throw tooLarge(limits.maxFormBytes);
  // With a declared length (within the cap) the body is read at once; without, streamed and capped.
  const bytes = declared !== null ? new Uint8Array(await request.arrayBuffer()) : await readBody(request, limits.maxFormBytes);
  if (bytes.byteLength > limits.maxFormBytes) throw tooLarge(limits.maxFormBytes);
  return parseForm(utf8(bytes), limits);
}

export function parseForm(text: string, limits = OAUTH_LIMITS): URLSearchParams {
  const params = new URLSearchParams();
  if (text === "") return params;
  const pairs = text.split("&");
  if (pairs.length > limits.maxParams) throw new OAuthError("invalid_request", `too many parameters (at most ${limits.maxParams})`);
  for (const pair of pairs) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? "" : decode(pair.slice(eq + 1));
    if (name.length === 0 || name.length > limits.maxParamNameLength) throw new OAuthError("invalid_request", "a parameter name is empty or too long");
    if (value.length > limits.maxParamValueLength) throw new OAuthError("invalid_request", `parameter "${name}" is longer than ${limits.maxParamValueLength} characters`);
    // RFC 6749 §3.1/§3.2; RFC 8707 §2 and RFC 8693 §2.1 allow `resource` and `audience` more than once.
    if (params.has(name) && !REPEATABLE.has(name)) throw new OAuthError("invalid_request", `parameter "${name}" is included more than once (RFC 6749 §3.1)`);
    params.append(name, value);
  }
  return params;
}

const REPEATABLE = new Set(["resource", "audience"]);

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll("+", " "));
  } catch {
    throw new OAuthError("invalid_request", "the form body is not valid percent-encoding");
  }
}

async function readBody(request: Request, max: number): Promise<Uint8Array> {
  try {
    return await readCapped(request.body, max);
  } catch (err) {
    throw err instanceof BodyTooLarge ? tooLarge(max) : err;
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new OAuthError("invalid_request", "the form body is not valid UTF-8");
  }
}

function tooLarge(max: number): OAuthError {
  return new OAuthError("invalid_request", `the body is larger than ${max} bytes`, { status: 413 });
}
