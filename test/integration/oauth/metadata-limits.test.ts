/**
 * Metadata for an issuer with a path (RFC 8414 §3.1, OIDC Discovery §4), RFC 8705 aliases when the
 * mTLS listener is configured, and the token endpoint's rate limit (429 + Retry-After).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as oauth from "oauth4webapi";
import { postForm } from "../../support/oauth/authorize.ts";
import { startOAuthFixture, type OAuthFixture } from "../../support/oauth/fixture.ts";

let f: OAuthFixture;
beforeAll(async () => {
  f = await startOAuthFixture({
    issuerPath: "/as",
    oauth: { mtlsListen: "127.0.0.1:8444" },
    rateLimits: { perAddress: { ratePerSecond: 1000, burst: 1000 }, perClient: { ratePerSecond: 0.5, burst: 3 } },
  });
  f.clients.add({ clientId: "agent-cli", redirectUris: ["http://127.0.0.1:7777/cb"] });
});
afterAll(async () => {
  await f?.close();
});

describe("issuer with a path", () => {
  test("oauth4webapi discovers it (RFC 8414 §3.1 and OIDC forms); endpoints live under the path", async () => {
    const issuer = new URL(f.issuer);
    for (const algorithm of ["oauth2", "oidc"] as const) {
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm, [oauth.allowInsecureRequests]: true }));
      expect(as.issuer).toBe(f.issuer);
      expect(as.token_endpoint).toBe(`${f.issuer}/oauth2/token`);
    }
    const origin = new URL(f.issuer).origin;
    expect((await fetch(`${origin}/.well-known/oauth-authorization-server/as`)).status).toBe(200);
    expect((await fetch(`${origin}/.well-known/openid-configuration/as`)).status).toBe(200);
    expect((await fetch(`${origin}/as/.well-known/openid-configuration`)).status).toBe(200);
    expect((await fetch(`${origin}/.well-known/oauth-authorization-server`)).status).toBe(404);
    expect((await fetch(`${f.issuer}/oauth2/jwks`)).status).toBe(200);
  });

  test("mtls_endpoint_aliases name the mTLS listener (RFC 8705 §5)", async () => {
    const doc = (await (await fetch(`${new URL(f.issuer).origin}/.well-known/oauth-authorization-server/as`)).json()) as Record<string, any>;
    expect(doc.mtls_endpoint_aliases.token_endpoint).toBe("https://127.0.0.1:8444/as/oauth2/token");
    expect(doc.mtls_endpoint_aliases.introspection_endpoint).toBe("https://127.0.0.1:8444/as/oauth2/introspect");
  });
});

describe("rate limits", () => {
  test("per client: 429 slow_down with Retry-After once the burst is spent", async () => {
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof postForm>> | undefined;
    for (let i = 0; i < 5; i++) {
      last = await postForm(`${f.issuer}/oauth2/token`, { grant_type: "refresh_token", client_id: "agent-cli", refresh_token: "slr_unknown" });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 3)).toEqual([400, 400, 400]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    expect(last!.body.error).toBe("slow_down");
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });
});
