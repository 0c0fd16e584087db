/**
 * The token side's `TokenRevoker` (src/oauth/tokens/user-revocation.ts) on its own, over the real
 * token side (LMDB, HTTP on loopback): the by-user index and the removed-user cutoff are swept
 * once nothing they cover can be alive, rotation's reuse detection still holds next to them, and
 * bad input is refused.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { familiesByUserDb, revokedSubjectsDb } from "../../../src/oauth/tokens/records.ts";
import { authorize, postForm } from "../../support/oauth/authorize.ts";
import { MCP_RESOURCE, startOAuthFixture, type OAuthFixture } from "../../support/oauth/fixture.ts";

const REDIRECT = "http://127.0.0.1:9/callback";
let f: OAuthFixture;

beforeAll(async () => {
  f = await startOAuthFixture({ oauth: { refreshTokenTtl: "1h", accessTokenTtl: "5m" } });
  f.clients.add({ clientId: "app", redirectUris: [REDIRECT] });
});
afterAll(async () => {
  await f?.close();
});

async function tokensFor(user: string, workload?: string) {
  const a = await authorize(f, { clientId: "app", redirectUri: REDIRECT, user, resources: [MCP_RESOURCE], scopes: ["mcp"], ...(workload ? { workload } : {}) });
  const r = await postForm(`${f.issuer}/oauth2/token`, { grant_type: "authorization_code", code: a.code, redirect_uri: REDIRECT, code_verifier: a.codeVerifier, client_id: "app" });
  expect(r.status).toBe(200);
  return { access: r.body.access_token as string, refresh: r.body.refresh_token as string };
}

const refresh = (token: string) => postForm(`${f.issuer}/oauth2/token`, { grant_type: "refresh_token", refresh_token: token, client_id: "app" });
const indexed = (spiffeId: string) => [...f.store.db(familiesByUserDb).keys({ start: [spiffeId], end: [spiffeId, "\uffff"] })].length;

test("a family is indexed under its subject, actor and user; sweeping an expired family drops its index entries", async () => {
  const workload = "spiffe://example.org/agent/sweeper";
  const user = f.users.add("ivy").spiffeId;
  await tokensFor("ivy", workload);
  expect(indexed(user)).toBe(1);
  expect(indexed(workload)).toBe(1);
  f.advanceOAuthClock(3601);
  try {
    await f.oauth.tick();
    await f.store.flushed();
  } finally {
    f.advanceOAuthClock(-3601);
  }
  expect(indexed(user)).toBe(0);
  expect(indexed(workload)).toBe(0);
});

test("rotation keeps its reuse detection; revoking the user afterwards counts the family once", async () => {
  const user = f.users.add("jack").spiffeId;
  const t = await tokensFor("jack");
  const rotated = await refresh(t.refresh);
  expect(rotated.status).toBe(200);
  // Presenting the rotated token again is reuse (RFC 9700 §4.14.2): the family is revoked.
  expect((await refresh(t.refresh)).body.error).toBe("invalid_grant");
  expect((await refresh(rotated.body.refresh_token)).body.error).toBe("invalid_grant");
  expect(await f.oauth.revoker.revokeForUser(user)).toBe(0);
  await expect(f.oauth.verifier.verify(rotated.body.access_token)).rejects.toThrow("revoked");
});

test("the removed-user cutoff is kept as long as an access token can live, then swept", async () => {
  const user = f.users.add("kate").spiffeId;
  const t = await tokensFor("kate");
  expect(await f.oauth.revoker.revokeForUser(user)).toBe(1);
  expect(f.store.db(revokedSubjectsDb).get(user)).toBeDefined();
  await expect(f.oauth.verifier.verify(t.access)).rejects.toThrow("revoked");
  f.advanceOAuthClock(300);
  try {
    await f.oauth.tick();
    await f.store.flushed();
    expect(f.store.db(revokedSubjectsDb).get(user)).toBeDefined();
    f.advanceOAuthClock(61);
    await f.oauth.tick();
    await f.store.flushed();
    expect(f.store.db(revokedSubjectsDb).get(user)).toBeUndefined();
  } finally {
    f.advanceOAuthClock(-361);
  }
});

test("revoking for an unknown user or consent changes nothing and says 0; bad ids are refused", async () => {
  const lee = f.users.add("lee").spiffeId;
  const t = await tokensFor("lee");
  expect(await f.oauth.revoker.revokeForConsent("app", lee, [MCP_RESOURCE], ["other-scope"])).toBe(0);
  expect(await f.oauth.revoker.revokeForConsent("another-client", lee, [MCP_RESOURCE], ["mcp"])).toBe(0);
  expect((await refresh(t.refresh)).status).toBe(200);
  expect(await f.oauth.revoker.revokeForUser("spiffe://example.org/user/nobody")).toBe(0);
  await expect(f.oauth.revoker.revokeForUser("")).rejects.toThrow("non-empty");
  await expect(f.oauth.revoker.revokeForConsent("app", "x".repeat(5000), [], [])).rejects.toThrow("at most");
});
