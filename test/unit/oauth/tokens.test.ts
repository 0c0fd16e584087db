/** Codes, refresh families, revocation and the access token verifier over a real store. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createHash, generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { silentLogger } from "../../../src/log/index.ts";
import { SigningKeys } from "../../../src/oauth/keys/signing-keys.ts";
import { CodeStore } from "../../../src/oauth/tokens/codes.ts";
import { TokenMinter } from "../../../src/oauth/tokens/minter.ts";
import { RefreshTokens } from "../../../src/oauth/tokens/refresh.ts";
import { Revocations } from "../../../src/oauth/tokens/revocation.ts";
import { SluiceAccessTokenVerifier } from "../../../src/oauth/tokens/verifier.ts";
import type { CodeGrant } from "../../../src/oauth/index.ts";
import { clock, tempStore } from "./helpers.ts";

const ISSUER = "https://as.example.test";
let t: Awaited<ReturnType<typeof tempStore>>;
let c: ReturnType<typeof clock>;
let keys: SigningKeys;
let revocations: Revocations;
let minter: TokenMinter;
let verifier: SluiceAccessTokenVerifier;

beforeEach(async () => {
  t = await tempStore();
  c = clock(Math.floor(Date.now() / 1000));
  keys = await SigningKeys.open({ store: t.store, logger: silentLogger, keyTtlSeconds: 86400, maxTokenTtlSeconds: 700, now: c.now });
  revocations = new Revocations(t.store);
  minter = new TokenMinter(keys, ISSUER, 600, 600);
  verifier = new SluiceAccessTokenVerifier(keys, ISSUER, revocations, c.now);
});
afterEach(async () => {
  await t.cleanup();
});

const grant: CodeGrant = {
  clientId: "c1",
  redirectUri: "http://127.0.0.1/cb",
  codeChallenge: createHash("sha256").update("v".repeat(43)).digest("base64url"),
  scopes: ["a"],
  resources: ["https://mcp.example.test"],
  subject: "spiffe://example.org/user/alice",
  user: { name: "alice", spiffeId: "spiffe://example.org/user/alice" },
  authTime: 1,
};

describe("authorization codes", () => {
  test("only the hash is stored; concurrent redemptions: exactly one wins, the others are replays", async () => {
    const codes = new CodeStore(t.store, revocations, 60, c.now);
    const code = await codes.issue(grant);
    const raw = JSON.stringify([...t.store.db((await import("../../../src/oauth/tokens/records.ts")).codesDb).getRange()]);
    expect(raw).not.toContain(code);
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => codes.redeem(code, { accessTokens: [{ jti: `j${i}`, exp: c.now() + 600 }] }, () => undefined)));
    expect(results.filter((r) => r.kind === "ok").length).toBe(1);
    expect(results.filter((r) => r.kind === "replay").length).toBe(4);
    const winner = results.findIndex((r) => r.kind === "ok");
    expect(revocations.isRevoked(`j${winner}`)).toBe(true); // the first replay revoked what the winner issued
  });

  test("issue refuses a grant without an S256 challenge (plain is refused before this point)", async () => {
    const codes = new CodeStore(t.store, revocations, 60, c.now);
    await expect(codes.issue({ ...grant, codeChallenge: "plain-verifier" })).rejects.toThrow(/S256/);
  });

  test("sweep keeps used codes while what they issued lives, drops expired ones", async () => {
    const codes = new CodeStore(t.store, revocations, 60, c.now);
    const unused = await codes.issue(grant);
    const used = await codes.issue(grant);
    await codes.redeem(used, { accessTokens: [{ jti: "x", exp: c.now() + 600 }] }, () => undefined);
    c.advance(61);
    expect(codes.sweep()).toBe(1);
    await expect(codes.redeem(unused, { accessTokens: [] }, () => undefined)).rejects.toMatchObject({ error: "invalid_grant" });
    expect((await codes.redeem(used, { accessTokens: [] }, () => undefined)).kind).toBe("replay");
  });
});

describe("refresh families", () => {
  test("rotation, then reuse revokes the family and its live access tokens", async () => {
    const refresh = new RefreshTokens(t.store, revocations, 3600, c.now);
    const first = refresh.newToken(refresh.newFamilyId());
    await t.store.transaction(() => refresh.startFamily(first, { clientId: "c1", subject: "s", scopes: ["a"], resources: [] }, { jti: "a0", exp: c.now() + 600 }));
    const r1 = await refresh.rotate(first, { jti: "a1", exp: c.now() + 600 }, () => undefined);
    expect(r1.kind).toBe("ok");
    const reuse = await refresh.rotate(first, { jti: "a2", exp: c.now() + 600 }, () => undefined);
    expect(reuse).toMatchObject({ kind: "reuse", revoked: true });
    expect(revocations.isRevoked("a0") && revocations.isRevoked("a1")).toBe(true);
    if (r1.kind !== "ok") throw new Error("unreachable");
    await expect(refresh.rotate(r1.refreshToken, { jti: "a3", exp: c.now() + 600 }, () => undefined)).rejects.toMatchObject({ error: "invalid_grant" });
    // Only hashes are stored.
    const raw = JSON.stringify([...t.store.db((await import("../../../src/oauth/tokens/records.ts")).refreshFamiliesDb).getRange()]);
    expect(raw).not.toContain(first.split(".")[1]!);
  });

  test("a guessed secret for a known family is unknown, not reuse: it revokes nothing", async () => {
    const refresh = new RefreshTokens(t.store, revocations, 3600, c.now);
    const familyId = refresh.newFamilyId();
    const token = refresh.newToken(familyId);
    await t.store.transaction(() => refresh.startFamily(token, { clientId: "c1", subject: "s", scopes: [], resources: [] }, { jti: "g0", exp: c.now() + 600 }));
    const guessed = refresh.newToken(familyId);
    await expect(refresh.rotate(guessed, { jti: "g1", exp: c.now() + 600 }, () => undefined)).rejects.toMatchObject({ error: "invalid_grant", description: expect.stringMatching(/unknown/) });
    expect(revocations.isRevoked("g0")).toBe(false);
    expect((await refresh.rotate(token, { jti: "g2", exp: c.now() + 600 }, () => undefined)).kind).toBe("ok");
  });

  test("an expired refresh token is refused", async () => {
    const refresh = new RefreshTokens(t.store, revocations, 10, c.now);
    const token = refresh.newToken(refresh.newFamilyId());
    await t.store.transaction(() => refresh.startFamily(token, { clientId: "c1", subject: "s", scopes: [], resources: [] }, { jti: "b0", exp: c.now() + 600 }));
    c.advance(11);
    await expect(refresh.rotate(token, { jti: "b1", exp: c.now() + 600 }, () => undefined)).rejects.toMatchObject({ error: "invalid_grant", description: expect.stringMatching(/expired/) });
  });
});

describe("access token verifier (RFC 9068 §4)", () => {
  const input = { subject: "spiffe://example.org/claude", audience: ["https://mcp.example.test"], clientId: "c1", scopes: ["a"] };

  test("verifies, caches, and still sees a revocation made after the first check", async () => {
    const { token, jti, exp } = await minter.accessToken(input, c.now());
    expect((await verifier.verify(token, { audience: "https://mcp.example.test" })).jti).toBe(jti);
    expect((await verifier.verify(token)).jti).toBe(jti); // cached path
    revocations.revokeAccess([{ jti, exp }], c.now());
    await expect(verifier.verify(token)).rejects.toMatchObject({ error: "invalid_token", description: expect.stringMatching(/revoked/) });
  });

  test("expired (also when cached), wrong audience, wrong typ, foreign key, tampered", async () => {
    const { token } = await minter.accessToken(input, c.now());
    await verifier.verify(token);
    await expect(verifier.verify(token, { audience: "https://other.example.test" })).rejects.toMatchObject({ error: "invalid_token" });
    c.advance(601);
    await expect(verifier.verify(token)).rejects.toMatchObject({ description: expect.stringMatching(/expired/) });
    c.advance(-601);

    const key = keys.current("ES256");
    const now = c.now();
    const claims = { iss: ISSUER, sub: "s", aud: "x", client_id: "c1", jti: "j", iat: now, exp: now + 60 };
    const wrongTyp = await new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" }).sign(key.privateKey);
    await expect(verifier.verify(wrongTyp)).rejects.toMatchObject({ error: "invalid_token" });
    const foreign = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "at+jwt" }).sign(foreign);
    await expect(verifier.verify(forged)).rejects.toMatchObject({ error: "invalid_token" });
    const otherIss = await new SignJWT({ ...claims, iss: "https://evil.example" }).setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "at+jwt" }).sign(key.privateKey);
    await expect(verifier.verify(otherIss)).rejects.toMatchObject({ error: "invalid_token" });
    const [h, p] = token.split(".");
    await expect(verifier.verify(`${h}.${p}.${"A".repeat(86)}`)).rejects.toMatchObject({ error: "invalid_token" });
  });
});
