/**
 * A small real AuthorizationResumer for broker tests, standing in for the users part's: it holds
 * pending authorizations, resumes each at most once (issuing a random code and redirecting to the
 * client's exact redirect_uri with `state` and `iss`), and fails them with an RFC 6749 §4.1.2.1
 * error redirect. Unknown or expired ids get a 400 page.
 */
import { randomBytes } from "node:crypto";
import type { AuthorizationResumer, OAuthClient, PendingAuthorization, UserRecord } from "../../../src/oauth/types.ts";

export class TestResumer implements AuthorizationResumer {
  readonly #pending = new Map<string, PendingAuthorization>();
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
