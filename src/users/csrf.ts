import { createHmac, type KeyObject } from "node:crypto";
import { constantTimeEqual } from "./secrets.ts";

/**
 * CSRF protection for every POST (OWASP "signed double-submit cookie", bound to the session):
 * the browser holds a random `csrf` cookie (HttpOnly, SameSite=Lax); each form carries
 * HMAC(key, cookie | session key). A cross-site page can neither read the cookie nor compute the
 * token, and a token from before login stops working after it. The request's Origin (or Referer)
 * must also be the issuer's origin when the browser sends one.
 */
export class Csrf {
  constructor(
    private readonly key: KeyObject,
    private readonly issuerOrigin: string,
  ) {}

  token(cookie: string, sessionKey: string | undefined): string {
    return createHmac("sha256", this.key).update(`csrf|${cookie}|${sessionKey ?? ""}`).digest("base64url");
  }

  /** Why the POST is refused, or undefined when it passes. */
  check(input: { cookie: string | undefined; sessionKey: string | undefined; token: string | null | undefined; origin: string | null; referer: string | null }): string | undefined {
    const origin = input.origin ?? refererOrigin(input.referer);
    if (origin !== undefined && origin !== this.issuerOrigin) return `cross-origin request from ${origin.slice(0, 100)}`;
    if (!input.cookie || !input.token) return "missing CSRF token (reload the page and try again)";
    if (!constantTimeEqual(this.token(input.cookie, input.sessionKey), input.token)) return "stale or invalid CSRF token (reload the page and try again)";
    return undefined;
  }
}

function refererOrigin(referer: string | null): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return "invalid-referer";
  }
}
