/** Request reading and response helpers shared by the users area's routes, with limits on every input. */
import { SluiceError } from "../errors/index.ts";
import { BodyTooLarge, readCapped } from "../io/index.ts";

export const PAGE_LIMITS = {
  /** A WebAuthn attestation is a few KB; forms on these pages are far smaller than this. */
  maxFormBytes: 64 * 1024,
  maxParams: 32,
  maxParamValueLength: 32 * 1024,
  /** The authorization request's query string. */
  maxQueryBytes: 8 * 1024,
} as const;

export class BadRequest extends SluiceError {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super("ERR_BAD_REQUEST", message);
  }
}

/** Reads an application/x-www-form-urlencoded body, streaming and stopping at the cap. Duplicate names other than `resource` are refused (RFC 6749 §3.1). */
export async function readForm(request: Request, maxBytes: number = PAGE_LIMITS.maxFormBytes): Promise<URLSearchParams> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") throw new BadRequest("the form must be sent as application/x-www-form-urlencoded", 415);
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new BadRequest(`the request body is larger than ${maxBytes} bytes`, 413);
  const text = await readText(request, maxBytes);
  return parseParams(text);
}

export function parseParams(text: string): URLSearchParams {
  const params = new URLSearchParams();
  if (text === "") return params;
  const pairs = text.split("&");
  if (pairs.length > PAGE_LIMITS.maxParams) throw new BadRequest(`too many parameters (at most ${PAGE_LIMITS.maxParams})`);
  for (const pair of pairs) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? "" : decode(pair.slice(eq + 1));
    if (name.length === 0 || name.length > 64) throw new BadRequest("a parameter name is empty or too long");
    if (value.length > PAGE_LIMITS.maxParamValueLength) throw new BadRequest(`parameter "${name.slice(0, 64)}" is too long`);
    if (params.has(name) && name !== "resource") throw new BadRequest(`parameter "${name}" is included more than once (RFC 6749 §3.1)`);
    params.append(name, value);
  }
  return params;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll("+", " "));
  } catch {
    throw new BadRequest("the request is not valid percent-encoding");
  }
}

async function readText(request: Request, max: number): Promise<string> {
  try {
    return new TextDecoder("utf-8", { fatal: false }).decode(await readCapped(request.body, max));
  } catch (err) {
    throw err instanceof BodyTooLarge ? new BadRequest(`the request body is larger than ${max} bytes`, 413) : err;
  }
}

export function redirect(location: string, headers: Record<string, string> | [string, string][] = {}): Response {
  const h = new Headers(headers);
  h.set("location", location);
  h.set("cache-control", "no-store");
  return new Response(null, { status: 303, headers: h });
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store", ...headers } });
}
