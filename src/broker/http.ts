/**
 * HTTPS to upstream authorization servers: TLS verified against the system trust store plus
 * `proxy.upstreamCaFile`, a timeout and a size cap on every response, JSON only.
 */
import { existsSync, readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { BodyTooLarge, readCapped } from "../io/index.ts";
import { BrokerError } from "./errors.ts";

export const UPSTREAM_LIMITS = {
  timeoutMs: 10_000,
  maxResponseBytes: 256 * 1024,
} as const;

const SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export type FetchLike = (input: string, init?: RequestInit & { tls?: { ca?: string | string[] } }) => Promise<Response>;

export interface UpstreamHttp {
  getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** POST application/x-www-form-urlencoded (optionally with HTTP Basic client auth). */
  postForm(url: string, form: URLSearchParams, basic?: { user: string; password: string }): Promise<{ status: number; body: Record<string, unknown> }>;
  postJson(url: string, json: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** Trusted roots: the system bundle (or Bun's Mozilla roots when absent) plus the operator's extra CA file. */
export function upstreamTrust(caFile: string | null): string[] {
  const roots = existsSync(SYSTEM_BUNDLE) ? [readFileSync(SYSTEM_BUNDLE, "utf8")] : [...rootCertificates];
  if (caFile !== null) {
    try {
      roots.push(readFileSync(caFile, "utf8"));
    } catch (err) {
      throw new BrokerError("ERR_BROKER_CONFIG", `cannot read proxy.upstreamCaFile ${caFile}: ${(err as Error).message}`, undefined, { cause: err });
    }
  }
  return roots;
}

export function createUpstreamHttp(options: { caFile: string | null; fetch?: FetchLike; timeoutMs?: number }): UpstreamHttp {
  const ca = upstreamTrust(options.caFile);
  const doFetch: FetchLike = options.fetch ?? (fetch as unknown as FetchLike);
  const timeoutMs = options.timeoutMs ?? UPSTREAM_LIMITS.timeoutMs;

  const send = async (url: string, init: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> => {
    const u = new URL(url);
    // Tokens and secrets only over TLS; plain http is accepted for loopback alone (RFC 8252 §8.3 spirit).
    if (u.protocol !== "https:" && !(u.protocol === "http:" && isLoopback(u.hostname))) {
      throw new BrokerError("ERR_BROKER_CONFIG", `refusing non-https upstream URL ${u.origin}`);
    }
    let res: Response;
    try {
      res = await doFetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs), tls: { ca } });
    } catch (err) {
      throw new BrokerError("ERR_BROKER_UPSTREAM_UNAVAILABLE", `${u.origin}: ${(err as Error).message}`, undefined, { cause: err });
    }
    const text = await readText(res, url);
    if (res.status >= 500) throw new BrokerError("ERR_BROKER_UPSTREAM_UNAVAILABLE", `${u.origin}${u.pathname} answered ${res.status}`);
    let body: unknown = {};
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new BrokerError("ERR_BROKER_UPSTREAM", `${u.origin}${u.pathname} answered ${res.status} with a body that is not JSON`);
      }
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new BrokerError("ERR_BROKER_UPSTREAM", `${u.origin}${u.pathname} answered ${res.status} with JSON that is not an object`);
    }
    return { status: res.status, body: body as Record<string, unknown> };
  };

  return {
    getJson: (url) => send(url, { method: "GET", headers: { accept: "application/json" } }),
    postForm: (url, form, basic) =>
      send(url, {
        method: "POST",
        headers: {
          accept: "application/json",
          "content-type": "application/x-www-form-urlencoded",
          // RFC 6749 §2.3.1: client_id and secret are form-encoded before Basic encoding.
          ...(basic ? { authorization: `Basic ${btoa(`${formEncode(basic.user)}:${formEncode(basic.password)}`)}` } : {}),
        },
        body: form.toString(),
      }),
    postJson: (url, json) => send(url, { method: "POST", headers: { accept: "application/json", "content-type": "application/json" }, body: JSON.stringify(json) }),
  };
}

function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, "+");
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function readText(res: Response, url: string): Promise<string> {
  const max = UPSTREAM_LIMITS.maxResponseBytes;
  const tooLarge = () => new BrokerError("ERR_BROKER_UPSTREAM", `${new URL(url).origin} sent a response larger than ${max} bytes`);
  if (Number(res.headers.get("content-length") ?? "0") > max) {
    await res.body?.cancel();
    throw tooLarge();
  }
  try {
    return Buffer.from(await readCapped(res.body, max)).toString("utf8");
  } catch (err) {
    throw err instanceof BodyTooLarge ? tooLarge() : err;
  }
}
