/**
 * Cookies: `HttpOnly; SameSite=Lax; Path=/`, plus `Secure` and the `__Host-` prefix (RFC 6265bis
 * §4.1.3.2) unless the issuer is plain http on loopback, where browsers would drop a Secure cookie.
 */
export interface CookieNames {
  readonly session: string;
  readonly csrf: string;
}

export interface CookiePolicy {
  readonly secure: boolean;
  readonly names: CookieNames;
}

export function cookiePolicy(issuer: string): CookiePolicy {
  const secure = new URL(issuer).protocol === "https:";
  const prefix = secure ? "__Host-" : "";
  return { secure, names: { session: `${prefix}sluice-session`, csrf: `${prefix}sluice-csrf` } };
}

export function setCookie(policy: CookiePolicy, name: string, value: string, maxAgeSeconds?: number): string {
  const parts = [`${name}=${value}`, "Path=/", "HttpOnly", "SameSite=Lax"];
  if (policy.secure) parts.push("Secure");
  if (maxAgeSeconds !== undefined) parts.push(`Max-Age=${maxAgeSeconds}`);
  return parts.join("; ");
}

export function clearCookie(policy: CookiePolicy, name: string): string {
  return setCookie(policy, name, "", 0);
}

const MAX_COOKIE_HEADER = 8192;

/** Parses the Cookie header (first value wins for a repeated name); ignores an oversized header. */
export function readCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!header || header.length > MAX_COOKIE_HEADER) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}
