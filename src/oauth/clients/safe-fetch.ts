/**
 * Fetching a JSON document a client points sluice at (Client ID Metadata Document, jwks_uri),
 * without letting the client use sluice to reach what it should not (SSRF, CIMD draft §6):
 * https only; the host resolved first and every address checked against the `AddressPolicy`;
 * the connection pinned to the checked address (no second lookup a DNS rebinding could change);
 * no redirects followed; a size cap read as a stream; a timeout; `application/json` only.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { SluiceError } from "../../errors/index.ts";
import { specialUseReason, type AddressPolicy } from "./address-policy.ts";
import { BodyTooLarge, readCapped } from "../../io/index.ts";

export interface FetchDocumentOptions {
  readonly allowAddress: AddressPolicy;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  /** Extra PEM CA certificates for the document's server (tests; default: the system trust store). */
  readonly ca?: string;
}

export interface FetchedDocument {
  readonly body: unknown;
  /** Cache-Control max-age, when the server sent one (no-store / no-cache → 0). */
  readonly maxAgeSeconds?: number;
}

export class DocumentFetchError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_DOCUMENT_FETCH", message, options);
  }
}

export async function fetchJsonDocument(target: string, options: FetchDocumentOptions): Promise<FetchedDocument> {
  const url = new URL(target);
  if (url.protocol !== "https:") throw new DocumentFetchError("only https URLs are fetched");
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const address = await resolveChecked(host, options.allowAddress);

  const pinned = new URL(url);
  pinned.hostname = isIP(address) === 6 ? `[${address}]` : address;
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await fetch(pinned, {
      redirect: "manual",
      signal,
      headers: { host: url.host, accept: "application/json" },
      tls: { ...(isIP(host) ? {} : { serverName: host }), ...(options.ca ? { ca: options.ca } : {}) },
    } as RequestInit);
  } catch (err) {
    const reason = signal.aborted ? `no answer within ${options.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
    throw new DocumentFetchError(`fetching ${target} failed: ${reason}`, { cause: err });
  }
  try {
    // CIMD draft: the AS MUST NOT follow redirects.
    if (response.status >= 300 && response.status < 400) throw new DocumentFetchError(`${target} answered with a redirect (${response.status}); redirects are not followed`);
    if (response.status !== 200) throw new DocumentFetchError(`${target} answered with HTTP ${response.status}`);
    const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json" && !type.endsWith("+json")) throw new DocumentFetchError(`${target} is ${type || "untyped"}, not application/json`);
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > options.maxBytes) throw new DocumentFetchError(`${target} is larger than ${options.maxBytes} bytes`);
    const text = await readText(response, options.maxBytes, target, signal);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new DocumentFetchError(`${target} is not valid JSON`);
    }
    const maxAge = maxAgeOf(response.headers.get("cache-control"));
    return maxAge === undefined ? { body } : { body, maxAgeSeconds: maxAge };
  } finally {
    if (!response.bodyUsed) await response.body?.cancel().catch(() => {});
  }
}

/** Resolves `host`; every address must pass (a name with one private address is refused, not tried elsewhere). */
async function resolveChecked(host: string, allow: AddressPolicy): Promise<string> {
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (err) {
      throw new DocumentFetchError(`cannot resolve ${host}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  if (addresses.length === 0) throw new DocumentFetchError(`${host} has no addresses`);
  for (const address of addresses) {
    if (!allow(address)) throw new DocumentFetchError(`${host} resolves to ${address}, a ${specialUseReason(address) ?? "refused"} address; sluice does not fetch client documents from there`);
  }
  return addresses[0]!;
}

async function readText(response: Response, max: number, target: string, signal: AbortSignal): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(response.body, max);
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new DocumentFetchError(`${target} is larger than ${max} bytes`);
    throw new DocumentFetchError(`reading ${target} failed: ${signal.aborted ? "timed out" : err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DocumentFetchError(`${target} is not valid UTF-8`);
  }
}

function maxAgeOf(header: string | null): number | undefined {
  if (!header) return undefined;
  const directives = header.toLowerCase().split(",").map((d) => d.trim());
  if (directives.includes("no-store") || directives.includes("no-cache")) return 0;
  const maxAge = directives.find((d) => d.startsWith("max-age="));
  if (!maxAge) return undefined;
  const n = Number(maxAge.slice(8));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}
