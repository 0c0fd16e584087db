/**
 * Credential sources for bindings without a human, injected into every request of the workload to
 * its Service (real HTTPS resource server): a static secret from a 0600 file (re-read when it
 * changes; a world-readable file is refused), a client-credentials token from a real oidc-provider
 * (cached), a JWT-SVID verified with verifyJwtSvid. And binding removal revokes upstream tokens.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { listVault, Vault } from "../../../src/broker/index.ts";
import { verifyJwtSvid } from "../../../src/spiffe/index.ts";
import { ALICE, CC_TOOL, JWT_AUDIENCE, JWT_TOOL, STATIC_SECRET, STATIC_TOOL, THIEF, startBrokerFixture, type BrokerFixture } from "../../support/broker/fixture.ts";

let f: BrokerFixture;
beforeAll(async () => {
  f = await startBrokerFixture();
});
afterAll(async () => {
  await f?.close();
});

describe("sources without a human", () => {
  test("static: the secret file's value goes into the configured header; the agent's own header is overwritten", async () => {
    const head = f.head(undefined, [["X-Api-Key", "agent-supplied"]]);
    const d = await f.broker.injector.decide(f.connection(STATIC_TOOL), head);
    expect(d).toMatchObject({ kind: "forward", label: "injected" });
    const res = await f.forward(head, d);
    expect(res.status).toBe(200);
    expect(f.seen.at(-1)!.apiKey).toBe(STATIC_SECRET);
    const records = await f.auditRecords();
    const r = records.findLast((x) => x.kind === "broker.inject")!;
    expect(r).toMatchObject({ subject: STATIC_TOOL, decision: "allow" });
    expect(r.details?.service).toBe("mcp");
    expect(JSON.stringify(records)).not.toContain(STATIC_SECRET);
  });

  test("static: a changed file is re-read", async () => {
    writeFileSync(f.staticSecretFile, "rotated-key-42\n");
    const head = f.head();
    await f.forward(head, await f.broker.injector.decide(f.connection(STATIC_TOOL), head));
    expect(f.seen.at(-1)!.apiKey).toBe("rotated-key-42");
  });

  test("static: a world-readable secret file is refused with a clear error, nothing forwarded", async () => {
    chmodSync(f.staticSecretFile, 0o644);
    try {
      const d = await f.broker.injector.decide(f.connection(STATIC_TOOL), f.head());
      expect(d.kind).toBe("respond");
      if (d.kind !== "respond") return;
      expect(d.status).toBe(502);
      expect(d.body).toContain("world-readable");
      expect(d.body).toContain("chmod 600");
      expect(d.body).not.toContain("rotated-key-42");
    } finally {
      chmodSync(f.staticSecretFile, 0o600);
    }
  });

  test("client credentials: a token from the real upstream, reused while fresh", async () => {
    const before = f.upstream.grantCount("client_credentials");
    const head = f.head();
    const d1 = await f.broker.injector.decide(f.connection(CC_TOOL), head);
    await f.forward(head, d1);
    const auth = f.seen.at(-1)!.authorization!;
    expect(auth).toMatch(/^Bearer ey/);
    const claims = JSON.parse(Buffer.from(auth.slice(7).split(".")[1]!, "base64url").toString());
    expect(claims.iss).toBe(f.upstream.issuer);
    expect(claims.aud).toBe(f.resource);
    expect(claims.client_id).toBe("cc-client");
    const d2 = await f.broker.injector.decide(f.connection(CC_TOOL), head);
    expect(d2).toEqual(d1);
    expect(f.upstream.grantCount("client_credentials")).toBe(before + 1);
  });

  test("jwtSVID: a JWT-SVID of the calling workload for the configured audience", async () => {
    const d = await f.broker.injector.decide(f.connection(JWT_TOOL), f.head());
    const auth = d.kind === "forward" ? d.setHeaders?.find(([n]) => n === "Authorization")?.[1] : undefined;
    expect(auth).toMatch(/^Bearer /);
    const svid = verifyJwtSvid(auth!.slice(7), f.ca.bundles, { audience: JWT_AUDIENCE });
    expect(svid.spiffeId).toBe(JWT_TOOL);
    // Cached: the same SVID until half its lifetime.
    const again = await f.broker.injector.decide(f.connection(JWT_TOOL), f.head());
    expect(again).toEqual(d);
  });

  test("a workload without a binding gets its request forwarded unchanged", async () => {
    const d = await f.broker.injector.decide(f.connection(THIEF), f.head("Bearer its-own"));
    expect(d).toEqual({ kind: "forward", label: "passed" });
  });
});

describe("binding removal", () => {
  test("removing the binding revokes the upstream tokens (RFC 7009) and deletes them", async () => {
    const res = await f.authorizeUpstream(f.pending());
    expect(res.status).toBe(303);
    const c = new Vault(f.store).get("upstream-mcp", ALICE.spiffeId)!.credential;
    expect(listVault(f.store)).toHaveLength(1);
    const revokedBefore = f.upstream.events.revokedGrants.length;

    await f.setPolicy(f.policyText({ withAgentBinding: false }));
    await f.broker.settled();
    expect(listVault(f.store)).toHaveLength(0);
    expect(f.upstream.events.revocationRequests).toBeGreaterThanOrEqual(1);
    expect(f.upstream.events.revokedGrants.length).toBeGreaterThan(revokedBefore);

    // The old refresh token is dead at the upstream.
    const refresh = await fetch(`${f.upstream.issuer}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa(`${encodeURIComponent(c.client.clientId)}:${encodeURIComponent(c.client.clientSecret ?? "")}`)}` },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: c.refreshToken! }).toString(),
      tls: { ca: f.tls.ca },
    });
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as { error: string }).error).toBe("invalid_grant");
    const records = await f.auditRecords();
    expect(records.some((r) => r.kind === "broker.credential_revoked" && r.details?.upstreamRevoked === true)).toBe(true);
  });
});
