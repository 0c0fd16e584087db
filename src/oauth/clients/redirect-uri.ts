/**
 * Redirect URIs: what registration accepts, and how an authorization request's URI is matched.
 * https anywhere; http only on a loopback host (RFC 8252 §7.3, §8.3); private-use schemes for
 * native apps (RFC 8252 §7.1); never a fragment (RFC 6749 §3.1.2) or user info.
 */
import { isLoopbackHost } from "../../policy/index.ts";
import { OAuthError } from "../types.ts";
import { CLIENT_LIMITS } from "./limits.ts";

// RFC 8252 §7.1: a private-use scheme is a reverse domain name (contains a period).
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$/;
const FORBIDDEN_SCHEMES = new Set(["javascript", "data", "file", "vbscript", "blob", "about", "ws", "wss", "ftp"]);

export type RedirectUriKind = "https" | "loopback" | "private-use";

/** Throws OAuthError("invalid_redirect_uri") naming the problem; returns the URI's kind. */
export function checkRedirectUri(uri: unknown, applicationType: "web" | "native", field = "redirect_uris"): RedirectUriKind {
  if (typeof uri !== "string" || uri === "") throw bad(`${field}: each entry must be a non-empty string`);
  if (uri.length > CLIENT_LIMITS.maxUriLength) throw bad(`${field}: ${short(uri)} is longer than ${CLIENT_LIMITS.maxUriLength} characters`);
  // RFC 6749 §3.1.2: the endpoint URI MUST NOT include a fragment component.
  if (uri.includes("#")) throw bad(`${field}: ${short(uri)} has a fragment (RFC 6749 §3.1.2 forbids it)`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw bad(`${field}: ${short(uri)} is not an absolute URI`);
  }
  if (url.username !== "" || url.password !== "") throw bad(`${field}: ${short(uri)} carries user info`);
  const scheme = url.protocol.slice(0, -1);
  if (scheme === "https") {
    if (url.hostname === "") throw bad(`${field}: ${short(uri)} has no host`);
    return "https";
  }
  if (scheme === "http") {
    // RFC 8252 §8.3 / RFC 9700 §2.6: plain http only for loopback redirects (127.0.0.1, [::1], localhost).
    if (!isLoopbackHost(url.hostname)) throw bad(`${field}: ${short(uri)} uses http on a non-loopback host; use https, or http://127.0.0.1 / http://[::1] / http://localhost (RFC 8252 §7.3)`);
    return "loopback";
  }
  if (FORBIDDEN_SCHEMES.has(scheme)) throw bad(`${field}: the ${scheme}: scheme is not allowed`);
  if (!PRIVATE_USE_SCHEME.test(scheme))
    throw bad(`${field}: ${short(uri)}: a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)`);
  if (applicationType !== "native") throw bad(`${field}: the private-use scheme ${scheme}: is only for application_type "native" (RFC 8252 §7.1)`);
  return "private-use";
}

/**
 * RFC 9700 §2.1 / RFC 6749 §3.1.2.3: simple string comparison. RFC 8252 §7.3: for a loopback
 * http redirect the port may differ (native apps bind an ephemeral port); everything else exact.
 */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  if (requested.length > CLIENT_LIMITS.maxUriLength || requested.includes("#")) return false;
  let req: URL;
  try {
    req = new URL(requested);
  } catch {
    return false;
  }
  if (req.protocol !== "http:" || !isLoopbackHost(req.hostname) || req.username !== "" || req.password !== "") return false;
  for (const candidate of registered) {
    if (!candidate.startsWith("http:")) continue;
    const reg = new URL(candidate);
    if (reg.hostname === req.hostname && reg.pathname === req.pathname && reg.search === req.search) return true;
  }
  return false;
}

function bad(description: string): OAuthError {
  return new OAuthError("invalid_redirect_uri", description);
}

function short(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}
