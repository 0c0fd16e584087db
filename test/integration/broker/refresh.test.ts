/**
 * Upstream refresh against a real oidc-provider (rotating refresh tokens): 50 concurrent agent
 * requests across expiry cause exactly one upstream refresh and all get the new token; a refresh
 * the upstream refuses (its grant was revoked) marks the credential failed, the next request gets
 * a 401 challenge, and the step sends the browser upstream again. The broker's clock is moved
 * forward (the upstream keeps real time): no sleeps.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { listVault, Vault } from "../../../src/broker/index.ts";
import type { InjectionDecision } from "../../../src/proxy/types.ts";
import { AGENT, ALICE, startBrokerFixture, type BrokerFixture } from "../../support/broker/fixture.ts";

let f: BrokerFixture;
beforeAll(async () => {
  f = await startBrokerFixture({ accessTokenTtl: 30, refreshAheadSeconds: 10 });
  const res = await f.authorizeUpstream(f.pending());
  if (res.status !== 303) throw new Error(`upstream leg failed: ${res.status}`);
});
afterAll(async () => {
  await f?.close();
});

const bearerOf = (d: InjectionDecision) => (d.kind === "forward" ? d.setHeaders?.find(([n]) => n === "Authorization")?.[1] : undefined);

async function agentRequest(): Promise<InjectionDecision> {
  const token = await f.tokens.mint({ sub: AGENT, actor: ALICE.spiffeId, aud: f.resource });
  return f.broker.injector.decide(f.connection(AGENT), f.head(`Bearer ${token}`));
}

describe("upstream refresh", () => {
  test("before the refresh window the stored token is used as is", async () => {
    const first = bearerOf(await agentRequest());
    const second = bearerOf(await agentRequest());
    expect(first).toMatch(/^Bearer ey/);
    expect(second).toBe(first);
    expect(f.upstream.grantCount("refresh_token")).toBe(0);
  });

  test("50 concurrent requests across expiry → exactly one upstream refresh, none fails", async () => {
    const before = bearerOf(await agentRequest());
    f.advance(31_000); // past the 30 s lifetime
    const decisions = await Promise.all(Array.from({ length: 50 }, () => agentRequest()));
    const bearers = new Set(decisions.map(bearerOf));
    expect(decisions.every((d) => d.kind === "forward" && d.label === "injected")).toBe(true);
    expect(bearers.size).toBe(1);
    expect([...bearers][0]).not.toBe(before);
    expect(f.upstream.grantCount("refresh_token")).toBe(1);
    expect(f.broker.refreshCount()).toBe(1);
    // The refreshed token works at the resource server.
    const res = await f.forward(f.head("Bearer x"), decisions[0]!);
    expect(res.status).toBe(200);
    expect(f.seen.at(-1)!.authorization).toBe([...bearers][0]!);
  });

  test("inside the refresh-ahead window the rotated refresh token is used for the next refresh", async () => {
    f.advance(21_000); // 30 s lifetime, 10 s ahead: due
    const decisions = await Promise.all(Array.from({ length: 10 }, () => agentRequest()));
    expect(new Set(decisions.map(bearerOf)).size).toBe(1);
    expect(f.upstream.grantCount("refresh_token")).toBe(2);
  });

  test("a refused refresh marks the credential failed → 401 challenge → the step goes upstream again", async () => {
    // Revoke the grant at the upstream for real (RFC 7009 with the broker's own registration).
    const c = new Vault(f.store).get("upstream-mcp", ALICE.spiffeId)!.credential;
    const revoke = await fetch(`${f.upstream.issuer}/token/revocation`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa(`${encodeURIComponent(c.client.clientId)}:${encodeURIComponent(c.client.clientSecret ?? "")}`)}` },
      body: new URLSearchParams({ token: c.refreshToken!, token_type_hint: "refresh_token" }).toString(),
      tls: { ca: f.tls.ca },
    });
    expect(revoke.status).toBe(200);

    f.advance(31_000);
    const decisions = await Promise.all(Array.from({ length: 5 }, () => agentRequest()));
    for (const d of decisions) {
      expect(d.kind).toBe("respond");
      if (d.kind !== "respond") continue;
      expect(d.status).toBe(401);
      const challenge = d.headers?.find(([n]) => n === "WWW-Authenticate")?.[1] ?? "";
      expect(challenge).toStartWith("Bearer ");
      expect(challenge).toContain(`resource_metadata="https://127.0.0.1:${f.rsPort}/.well-known/oauth-protected-resource/mcp"`);
    }
    // One refresh attempt, refused; later requests see the failed state without asking upstream.
    expect(f.broker.refreshCount()).toBe(3);
    const entry = listVault(f.store).find((e) => e.user === ALICE.spiffeId)!;
    expect(entry.state).toBe("failed");
    expect(entry.failure).toContain("invalid_grant");
    const records = await f.auditRecords();
    expect(records.some((r) => r.kind === "broker.credential_unavailable" && r.decision === "deny")).toBe(true);

    const outcome = await f.broker.step.beforeCode(f.pending());
    expect(outcome.kind).toBe("redirect");

    // Authorizing again replaces the failed credential.
    const res = await f.authorizeUpstream(f.pending());
    expect(res.status).toBe(303);
    expect(listVault(f.store).find((e) => e.user === ALICE.spiffeId)!.state).toBe("active");
    expect((await agentRequest()).kind).toBe("forward");
  });
});

describe("background refresh", () => {
  test("a credential entering the refresh window is refreshed without any agent request", async () => {
    const g = await startBrokerFixture({ accessTokenTtl: 30, refreshAheadSeconds: 10, refreshSweepMs: 20 });
    try {
      expect((await g.authorizeUpstream(g.pending())).status).toBe(303);
      const before = new Vault(g.store).get("upstream-mcp", ALICE.spiffeId)!.credential.accessToken;
      g.advance(25_000);
      for (let i = 0; i < 500 && g.upstream.grantCount("refresh_token") === 0; i++) await Bun.sleep(10);
      expect(g.upstream.grantCount("refresh_token")).toBe(1);
      for (let i = 0; i < 500 && new Vault(g.store).get("upstream-mcp", ALICE.spiffeId)!.credential.accessToken === before; i++) await Bun.sleep(10);
      // Fresh again: further sweeps leave it alone.
      await Bun.sleep(100);
      expect(g.upstream.grantCount("refresh_token")).toBe(1);
    } finally {
      await g.close();
    }
  });
});
