/**
 * A small real AuthorizationResumer for broker tests, standing in for the users part's: it holds
 * pending authorizations, resumes each at most once (issuing a random code and redirecting to the
 * client's exact redirect_uri with `state` and `iss`), and fails them with an RFC 6749 §4.1.2.1
 * error redirect. Unknown or expired ids get a 400 page. Its login sessions are real in the way
 * that matters to the broker: `login(user)` gives a random cookie value, and `sessionUser(request)`
 * answers only for a request carrying a live one (`logout` ends it).
 */
import { randomBytes } from "node:crypto";
import type { AuthorizationResumer, OAuthClient, PendingAuthorization, UserRecord } from "../../../src/oauth/types.ts";

export const TEST_SESSION_COOKIE = "test-session";

export class TestResumer implements AuthorizationResumer {
  readonly #pending = new Map<string, PendingAuthorization>();
  readonly #sessions = new Map<string, UserRecord>();
  readonly resumed: { id: string; code: string }[] = [];
  readonly failed: { id: string; error: string; description: string }[] = [];

  constructor(private readonly issuer: string) {}

  create(p: { client: OAuthClient; user: UserRecord; workload?: string; resources: string[]; redirectUri: string; state?: string; ttlSeconds?: number }): PendingAuthorization {
    const pending: PendingAuthorization = {
      id: randomBytes(32).toString("base64url"),
      client: p.client,
      user: p.user,
      ...(p.workload ? { workload: p.workload } : {}),
      resources: p.resources,
      scopes: ["mcp:tools"],
      redirectUri: p.redirectUri,
      ...(p.state ? { state: p.state } : {}),
      expiresAt: Math.floor(Date.now() / 1000) + (p.ttlSeconds ?? 600),
    };
    this.#pending.set(pending.id, pending);
    return pending;
  }

  pending(id: string): PendingAuthorization | undefined {
    const p = this.#pending.get(id);
    return p && p.expiresAt * 1000 > Date.now() ? p : undefined;
  }

  /** A new login session for `user`; returns the Cookie header value a browser would send. */
  login(user: UserRecord): string {
    const id = randomBytes(32).toString("base64url");
    this.#sessions.set(id, user);
    return `${TEST_SESSION_COOKIE}=${id}`;
  }

  logout(cookie: string): void {
    this.#sessions.delete(cookie.slice(TEST_SESSION_COOKIE.length + 1));
  }

  sessionUser(request: Request): UserRecord | undefined {
    for (const part of (request.headers.get("cookie") ?? "").split(";")) {
      const [name, value] = part.trim().split("=", 2);
      if (name === TEST_SESSION_COOKIE && value) return this.#sessions.get(value);
    }
    return undefined;
  }

  async resume(id: string): Promise<Response> {
    const p = this.pending(id);
    if (!p) return new Response("unknown or expired authorization", { status: 400 });
    this.#pending.delete(id);
    const code = randomBytes(16).toString("base64url");
    this.resumed.push({ id, code });
    const to = new URL(p.redirectUri);
    to.searchParams.set("code", code);
    if (p.state) to.searchParams.set("state", p.state);
    to.searchParams.set("iss", this.issuer);
    return new Response(null, { status: 303, headers: { location: to.toString() } });
  }

  async fail(id: string, error: "access_denied" | "server_error" | "temporarily_unavailable", description: string): Promise<Response> {
    const p = this.pending(id);
    if (!p) return new Response("unknown or expired authorization", { status: 400 });
    this.#pending.delete(id);
    this.failed.push({ id, error, description });
    const to = new URL(p.redirectUri);
    to.searchParams.set("error", error);
    to.searchParams.set("error_description", description);
    if (p.state) to.searchParams.set("state", p.state);
    to.searchParams.set("iss", this.issuer);
    return new Response(null, { status: 303, headers: { location: to.toString() } });
  }
}
