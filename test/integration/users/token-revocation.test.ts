/**
 * Removing a user or withdrawing a consent revokes what was already issued (issue 5): the real
 * token side (startOAuth over LMDB, HTTP on loopback) and the real users part (startUsers with the
 * token side's revoker) on one store. Tokens come from real codes redeemed at /oauth2/token; the
 * checks go through /oauth2/token (refresh), /oauth2/introspect and the AccessTokenVerifier.
 * Three removal paths: the admin operation in serve, `sluice user rm` through serve's admin socket
 * (a real CLI process), and the CLI's direct path on the store (what runs when serve is stopped:
 * its own revoker instance, no token side).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { runOnArea, startAdminSocket } from "../../../src/admin/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import { Consents } from "../../../src/users/consents.ts";
import { openUserAdmin, startUsers, usersAdminArea, type UsersService } from "../../../src/users/index.ts";
import { authorize, postForm } from "../../support/oauth/authorize.ts";
import { MCP_RESOURCE, OTHER_RESOURCE, startOAuthFixture, type OAuthFixture } from "../../support/oauth/fixture.ts";
import { runSluice } from "../../support/run-sluice.ts";

setDefaultTimeout(60_000);

const REDIRECT = "http://127.0.0.1:9/callback";
let f: OAuthFixture;
let users: UsersService;
let adminStop: () => Promise<void>;

beforeAll(async () => {
  f = await startOAuthFixture();
  users = await startUsers({ config: f.config, store: f.store, audit: f.audit, clients: f.clients, codes: f.oauth.codes, resources: f.oauth.resources, revoker: f.oauth.revoker, logger: silentLogger });
  const admin = startAdminSocket({ dataDir: f.store.dataDir, areas: [users.adminArea], logger: silentLogger });
  adminStop = () => admin.stop();
  for (const clientId of ["app", "other-app"])
    f.clients.add({ clientId, redirectUris: [REDIRECT], grantTypes: ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"] });
});

afterAll(async () => {
  await adminStop?.();
  await users?.stop();
  await f?.close();
});

interface Tokens {
  access: string;
  refresh: string;
  clientId: string;
}

/** A real account (through the admin operation) the token side's authorize helper issues codes for. */
function addUser(name: string): string {
  users.admin.add(name, false);
  const spiffeId = users.directory.get(name)!.spiffeId;
  f.users.add(name, { spiffeId });
  return spiffeId;
}

async function tokensFor(user: string, clientId = "app", resources = [MCP_RESOURCE], scopes = ["mcp"], workload?: string): Promise<Tokens> {
  const a = await authorize(f, { clientId, redirectUri: REDIRECT, user, resources, scopes, ...(workload ? { workload } : {}) });
  const r = await postForm(`${f.issuer}/oauth2/token`, { grant_type: "authorization_code", code: a.code, redirect_uri: REDIRECT, code_verifier: a.codeVerifier, client_id: clientId });
  expect(r.status).toBe(200);
  return { access: r.body.access_token, refresh: r.body.refresh_token, clientId };
}

async function refresh(t: Tokens): Promise<{ status: number; error?: string }> {
  const r = await postForm(`${f.issuer}/oauth2/token`, { grant_type: "refresh_token", refresh_token: t.refresh, client_id: t.clientId });
  if (r.status === 200) t.refresh = r.body.refresh_token;
  return { status: r.status, ...(r.body?.error ? { error: r.body.error } : {}) };
}

async function active(t: Tokens, token = t.access): Promise<boolean> {
  return (await postForm(`${f.issuer}/oauth2/introspect`, { client_id: t.clientId, token })).body.active === true;
}

async function verifierRefuses(token: string): Promise<string | undefined> {
  try {
    await f.oauth.verifier.verify(token);
    return undefined;
  } catch (err) {
    return (err as { description?: string }).description ?? String(err);
  }
}

async function revokeRecords(subject: string) {
  return (await f.auditRecords()).filter((r) => r.kind === "oauth.token.revoke" && r.subject === subject);
}

describe("removing a user", () => {
  test("revokes the user's refresh families and access tokens; another user's keep working", async () => {
    const alice = addUser("alice");
    addUser("bob");
    const a1 = await tokensFor("alice");
    const a2 = await tokensFor("alice", "other-app", [OTHER_RESOURCE]);
    const bob = await tokensFor("bob");
    // The verifier has the tokens in its cache before the removal: the removal must reach it anyway.
    expect(await verifierRefuses(a1.access)).toBeUndefined();
    expect((await refresh(a1)).status).toBe(200);
    expect(await active(a1)).toBe(true);

    const removed = (await users.admin.remove("alice")) as { revokedFamilies: number };
    expect(removed.revokedFamilies).toBe(2);

    for (const t of [a1, a2]) {
      expect(await refresh(t)).toEqual({ status: 400, error: "invalid_grant" });
      expect(await active(t)).toBe(false);
      expect(await verifierRefuses(t.access)).toContain("revoked");
    }
    expect(await active(a1, a1.refresh)).toBe(false);

    expect(await verifierRefuses(bob.access)).toBeUndefined();
    expect(await active(bob)).toBe(true);
    expect((await refresh(bob)).status).toBe(200);

    const records = await revokeRecords(alice);
    expect(records).toHaveLength(1);
    expect(records[0]!.details).toMatchObject({ reason: "user-removed", families: 2 });
    expect(JSON.stringify(records[0])).not.toContain(a1.refresh.slice(4, 20));
    expect(JSON.stringify(records[0])).not.toContain(a1.access.slice(0, 40));
  });

  test("covers tokens with the user as act.sub, unredeemed codes and exchanged tokens", async () => {
    const carol = addUser("carol");
    const workload = "spiffe://example.org/agent/w1";
    const acting = await tokensFor("carol", "app", [MCP_RESOURCE], ["mcp"], workload);
    const claims = await f.oauth.verifier.verify(acting.access);
    expect(claims.sub).toBe(workload);
    expect(claims.act?.sub).toBe(carol);
    // Token exchange by the same client: a new access token no family tracks (narrowed audience).
    const exchanged = await postForm(`${f.issuer}/oauth2/token`, {
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      client_id: "app",
      subject_token: acting.access,
      subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
      resource: MCP_RESOURCE,
    });
    expect(exchanged.body).toMatchObject({ issued_token_type: "urn:ietf:params:oauth:token-type:access_token" });
    const pending = await authorize(f, { clientId: "app", redirectUri: REDIRECT, user: "carol", resources: [MCP_RESOURCE], scopes: ["mcp"] });

    await users.admin.remove("carol");

    expect(await verifierRefuses(acting.access)).toContain("revoked");
    expect(await verifierRefuses(exchanged.body.access_token)).toContain("revoked");
    expect((await refresh(acting)).error).toBe("invalid_grant");
    const late = await postForm(`${f.issuer}/oauth2/token`, { grant_type: "authorization_code", code: pending.code, redirect_uri: REDIRECT, code_verifier: pending.codeVerifier, client_id: "app" });
    expect(late.status).toBe(400);
    expect(late.body.error).toBe("invalid_grant");
    expect((await revokeRecords(carol))[0]!.details).toMatchObject({ reason: "user-removed", families: 1, codes: 1 });
  });

  test("a user re-created under the same name gets working tokens again", async () => {
    addUser("dave");
    const old = await tokensFor("dave");
    await users.admin.remove("dave");
    // The cutoff is per second: a token minted in the same second as the removal is refused too.
    await Bun.sleep(1100);
    addUser("dave");
    const fresh = await tokensFor("dave");
    expect(await verifierRefuses(old.access)).toContain("revoked");
    expect(await verifierRefuses(fresh.access)).toBeUndefined();
    expect((await refresh(fresh)).status).toBe(200);
  });

  test("sluice user rm through serve's admin socket (serve running)", async () => {
    const erin = addUser("erin");
    const t = await tokensFor("erin");
    const rm = await runSluice(["user", "rm", "erin", "--json"], { env: { SLUICE_DATA_DIR: f.store.dataDir, SLUICE_ISSUER: f.issuer, SLUICE_TRUST_DOMAIN: "example.org" } });
    expect(rm.stderr).toBe("");
    expect(rm.code).toBe(0);
    expect(JSON.parse(rm.stdout)).toMatchObject({ removed: "erin", revokedFamilies: 1 });
    expect((await refresh(t)).error).toBe("invalid_grant");
    expect(await active(t)).toBe(false);
    expect(await verifierRefuses(t.access)).toContain("revoked");
    expect(await revokeRecords(erin)).toHaveLength(1);
  });

  test("the CLI's direct path (serve stopped) revokes on the store with its own revoker", async () => {
    const frank = addUser("frank");
    const t = await tokensFor("frank");
    expect(await verifierRefuses(t.access)).toBeUndefined();
    // Exactly what `sluice user rm` runs when it can open the store: openUserAdmin on the store, no token side.
    const result = await runOnArea(usersAdminArea(openUserAdmin(f.config, f.store, f.audit)), { op: "rm", name: "frank" });
    expect(result).toMatchObject({ removed: "frank", revokedFamilies: 1 });
    expect((await refresh(t)).error).toBe("invalid_grant");
    expect(await active(t)).toBe(false);
    expect(await verifierRefuses(t.access)).toContain("revoked");
    expect((await revokeRecords(frank))[0]!.details).toMatchObject({ reason: "user-removed", families: 1 });
  });
});

describe("withdrawing a consent", () => {
  test("revokes the families of that consent only", async () => {
    const gina = addUser("gina");
    const consents = new Consents(f.store);
    await consents.remember("gina", "app", [MCP_RESOURCE], ["mcp"]);
    await consents.remember("gina", "other-app", [OTHER_RESOURCE], ["mcp"]);
    const mine = await tokensFor("gina", "app", [MCP_RESOURCE], ["mcp"]);
    const otherClient = await tokensFor("gina", "other-app", [OTHER_RESOURCE], ["mcp"]);
    const otherScopes = await tokensFor("gina", "app", [MCP_RESOURCE], ["mcp", "extra"]);

    const id = users.admin.consents("gina").find((c) => c.clientId === "app")!.id;
    const out = await users.admin.removeConsent("gina", id);
    expect(out).toEqual({ removed: 1, revokedFamilies: 1 });

    expect((await refresh(mine)).error).toBe("invalid_grant");
    expect(await active(mine)).toBe(false);
    expect(await verifierRefuses(mine.access)).toContain("revoked");
    for (const t of [otherClient, otherScopes]) {
      expect((await refresh(t)).status).toBe(200);
      expect(await verifierRefuses(t.access)).toBeUndefined();
    }
    const records = await revokeRecords(gina);
    expect(records.map((r) => r.details)).toEqual([expect.objectContaining({ reason: "consent-revoked", client_id: "app", families: 1 })]);
  });

  test("withdrawing every consent of a client (bare client id) revokes each consent's families", async () => {
    addUser("hank");
    const consents = new Consents(f.store);
    await consents.remember("hank", "app", [MCP_RESOURCE], ["mcp"]);
    await consents.remember("hank", "app", [OTHER_RESOURCE], ["mcp"]);
    const t1 = await tokensFor("hank", "app", [MCP_RESOURCE], ["mcp"]);
    const t2 = await tokensFor("hank", "app", [OTHER_RESOURCE], ["mcp"]);
    expect(await users.admin.removeConsent("hank", "app")).toEqual({ removed: 2, revokedFamilies: 2 });
    for (const t of [t1, t2]) expect((await refresh(t)).error).toBe("invalid_grant");
  });
});
