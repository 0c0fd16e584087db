/**
 * Stands in for `/oauth2/authorize` (the users part builds the real page: passkey login and
 * consent): issues a code through the real `AuthorizationCodes.issue`, exactly as that page does
 * after consent, and returns the redirect the browser would follow (code, state, RFC 9207 `iss`).
 */
import { createHash, randomBytes } from "node:crypto";
import type { OAuthFixture } from "./fixture.ts";

export interface AuthorizeInput {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly user: string;
  readonly resources?: readonly string[];
  readonly scopes?: readonly string[];
  /** The workload SPIFFE ID the client is bound to; the token's sub (the user becomes act.sub). */
  readonly workload?: string;
  readonly nonce?: string;
  /** Override the verifier (default: a fresh random one). */
  readonly codeVerifier?: string;
}

export interface Authorized {
  readonly code: string;
  readonly codeVerifier: string;
  readonly state: string;
  /** The redirect_uri with code, state and iss, as the browser arrives at the client. */
  readonly callback: URL;
}

export async function authorize(f: OAuthFixture, input: AuthorizeInput): Promise<Authorized> {
  const user = f.users.get(input.user) ?? f.users.add(input.user);
  const codeVerifier = input.codeVerifier ?? randomBytes(32).toString("base64url");
  const codeChallenge = createHash("sha256").update(codeVerifier).digest("base64url");
  const state = randomBytes(8).toString("base64url");
  const code = await f.oauth.codes.issue({
    clientId: input.clientId,
    redirectUri: input.redirectUri,
    codeChallenge,
    scopes: input.scopes ?? [],
    resources: input.resources ?? [],
    subject: input.workload ?? user.spiffeId,
    ...(input.workload ? { actor: user.spiffeId } : {}),
    user: { name: user.name, spiffeId: user.spiffeId },
    authTime: Math.floor(Date.now() / 1000),
    ...(input.nonce ? { nonce: input.nonce } : {}),
  });
  const callback = new URL(input.redirectUri);
  callback.searchParams.set("code", code);
  callback.searchParams.set("state", state);
  callback.searchParams.set("iss", f.issuer);
  return { code, codeVerifier, state, callback };
}

/** POSTs a form to an AS endpoint; returns status and parsed JSON (or null). */
export async function postForm(url: string, params: Record<string, string | string[]> | string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  let body: string;
  if (typeof params === "string") body = params;
  else {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) p.append(k, one);
    body = p.toString();
  }
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
