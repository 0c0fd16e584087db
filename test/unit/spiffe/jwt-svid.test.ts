/** JWT-SVID spec: issued tokens have the §2/§3 shape; validation rejects every Appendix A / §2–§4 violation. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, UnsecuredJWT } from "jose";
import { BundleSet, SvidError, verifyJwtSvid, type JwtSvidRule } from "../../../src/spiffe/index.ts";
import { publicJwk } from "../../../src/spiffe/jwt/jwk.ts";
import { clock, openCaFixture, TD, type CaFixture } from "./helpers.ts";

const ID = `spiffe://${TD}/claude`;
const AUD = "https://api.example.com";
const now = Date.now();
const sec = Math.floor(now / 1000);

// A JWT signing key of our own, so tokens can be crafted with any header and claims.
const ec = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const KID = "test-key-1";
const bundles = new BundleSet();
bundles.set({ trustDomain: TD, x509Authorities: [], jwtAuthorities: [{ kid: KID, jwk: publicJwk(ec.privateKey) }], sequence: 1 });
bundles.set({ trustDomain: "nojwt.org", x509Authorities: [], jwtAuthorities: [], sequence: 1 });
bundles.set({ trustDomain: "other.org", x509Authorities: [], jwtAuthorities: [{ kid: "other-key", jwk: publicJwk(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey) }], sequence: 1 });

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const claims = (more: Record<string, unknown> = {}) => ({ sub: ID, aud: AUD, exp: sec + 300, iat: sec, ...more });

/** Compact JWS with exactly the given header, signed per its `alg` (node:crypto, no library checks). */
function craft(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject | string = ec.privateKey): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const alg = String(header.alg);
  let sig: Buffer;
  if (alg === "none") sig = Buffer.alloc(0);
  else if (alg.startsWith("HS")) sig = createHmac("sha256", key as string).update(input).digest();
  else if (alg.startsWith("ES")) sig = sign(`sha${alg.slice(2)}`, Buffer.from(input), { key: key as KeyObject, dsaEncoding: "ieee-p1363" });
  else if (alg === "EdDSA") sig = sign(null, Buffer.from(input), key as KeyObject);
  else sig = sign(`sha${alg.slice(2)}`, Buffer.from(input), key as KeyObject);
  return `${input}.${sig.toString("base64url")}`;
}
const es = (payload: Record<string, unknown> = claims(), header: Record<string, unknown> = {}) => craft({ alg: "ES256", kid: KID, typ: "JWT", ...header }, payload);

function ruleOf(token: string, audience = AUD): JwtSvidRule | "ok" {
  try {
    verifyJwtSvid(token, bundles, { audience, now });
    return "ok";
  } catch (err) {
    if (!(err instanceof SvidError)) throw err;
    expect(err.code).toBe("ERR_JWT_SVID_INVALID");
    return err.rule as JwtSvidRule;
  }
}

const publicPem = ec.publicKey.export({ type: "spki", format: "pem" }).toString();
const ed = generateKeyPairSync("ed25519");

const cases: [string, () => string | Promise<string>, JwtSvidRule | "ok"][] = [
  ["a well-formed JWT-SVID (control)", () => es(), "ok"],
  ["a token signed by jose (independent producer)", async () =>
    await new SignJWT(claims()).setProtectedHeader({ alg: "ES256", kid: KID, typ: "JWT" }).sign(ec.privateKey), "ok"],
  ["§2.1: alg none (unsigned)", () => new UnsecuredJWT(claims()).encode(), "alg"],
  ["§2.1: alg none with a kid", () => craft({ alg: "none", kid: KID }, claims()), "alg"],
  ["§2.1: HS256 with the public key as the HMAC secret", async () =>
    await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid: KID }).sign(new TextEncoder().encode(publicPem)), "alg"],
  ["§2.1: HS256 crafted by hand", () => craft({ alg: "HS256", kid: KID }, claims(), publicPem), "alg"],
  ["§2.1: EdDSA (not in the JWT-SVID list)", () => craft({ alg: "EdDSA", kid: KID }, claims(), ed.privateKey), "alg"],
  ["§2.1: lowercase es256", () => craft({ alg: "es256", kid: KID }, claims()), "alg"],
  ["§2.1: RS256 with an unknown key", () => craft({ alg: "RS256", kid: "attacker" }, claims(), rsa.privateKey), "kid-unknown"],
  ["§2.1: RS256 signed with an RSA key under our EC key's kid", () => craft({ alg: "RS256", kid: KID }, claims(), rsa.privateKey), "key-alg-mismatch"],
  ["§2.1: ES384 claimed for a P-256 key", () => craft({ alg: "ES384", kid: KID }, claims()), "key-alg-mismatch"],
  ["§2.2: no kid (sluice requires one)", () => craft({ alg: "ES256", typ: "JWT" }, claims()), "kid-missing"],
  ["§2.2: unknown kid", () => es(claims(), { kid: "nope" }), "kid-unknown"],
  ["§2.3: typ JOSE is allowed", () => es(claims(), { typ: "JOSE" }), "ok"],
  ["§2.3: typ absent is allowed", () => craft({ alg: "ES256", kid: KID }, claims()), "ok"],
  ["§2.3: typ at+jwt", () => es(claims(), { typ: "at+jwt" }), "typ"],
  ["§2: a header parameter outside alg/kid/typ (jku)", () => es(claims(), { jku: "https://evil.example/jwks" }), "header-parameter"],
  ["§2: a crit header", () => es(claims(), { crit: ["exp"] }), "header-parameter"],
  ["§3.1: sub is not a SPIFFE ID", () => es(claims({ sub: "claude" })), "sub"],
  ["§3.1: sub with a query", () => es(claims({ sub: `${ID}?a=b` })), "sub"],
  ["§3.1: no sub", () => es({ aud: AUD, exp: sec + 60 }), "sub"],
  ["§3.1: sub in a trust domain with no bundle", () => es(claims({ sub: "spiffe://nobody.org/claude" })), "no-bundle"],
  ["JWT-SVID §6.2: sub's trust domain publishes no JWT keys", () => es(claims({ sub: "spiffe://nojwt.org/claude" })), "no-jwt-authorities"],
  ["sub in other.org signed with example.org's key", () => es(claims({ sub: "spiffe://other.org/claude" })), "kid-unknown"],
  ["§3.2: no aud", () => es({ sub: ID, exp: sec + 60 }), "aud-missing"],
  ["§3.2: aud is an empty array", () => es(claims({ aud: [] })), "aud-missing"],
  ["§3.2: aud is a number", () => es(claims({ aud: 42 })), "aud-missing"],
  ["§3.2: aud without the validator's value", () => es(claims({ aud: "https://other.example" })), "aud-mismatch"],
  ["§3.2: aud array containing the validator's value", () => es(claims({ aud: ["x", AUD] })), "ok"],
  ["§3.3: no exp", () => es({ sub: ID, aud: AUD, iat: sec }), "exp-missing"],
  ["§3.3: exp is a string", () => es(claims({ exp: String(sec + 60) })), "claim-type"],
  ["§3.3: expired", () => es(claims({ exp: sec - 120 })), "expired"],
  ["Appendix A: expired within the leeway", () => es(claims({ exp: sec - 5 })), "ok"],
  ["RFC 7519 §4.1.5: nbf in the future", () => es(claims({ nbf: sec + 600 })), "not-yet-valid"],
  ["RFC 7519 §7.2: tampered payload (sub changed, old signature)", () => {
    const [h, , s] = es().split(".");
    return `${h}.${b64(claims({ sub: `spiffe://${TD}/admin` }))}.${s}`;
  }, "signature"],
  ["RFC 7519 §7.2: tampered signature", () => {
    const t = es();
    return t.slice(0, -2) + (t.endsWith("AA") ? "AB" : "AA");
  }, "signature"],
  ["§5.1: JWS JSON serialization", () => JSON.stringify({ payload: b64(claims()), signatures: [] }), "malformed"],
  ["§5.1: only two parts", () => es().split(".").slice(0, 2).join("."), "malformed"],
  ["a header that is not JSON", () => `${b64("not json")}.${b64(claims())}.AAAA`, "malformed"],
  ["a token larger than 16 KiB", () => es(claims({ pad: "x".repeat(17_000) })), "too-large"],
];

describe("JWT-SVID validation (JWT-SVID §2–§4, Appendix A)", () => {
  for (const [name, make, expected] of cases) test(`${name} → ${expected}`, async () => expect(ruleOf(await make())).toBe(expected));

  test("the audience option is required (caller mistake → TypeError)", () => {
    expect(() => verifyJwtSvid(es(), bundles, { audience: "" })).toThrow(TypeError);
  });

  test("returns the SPIFFE ID, audience, expiry and claims", () => {
    const r = verifyJwtSvid(es(), bundles, { audience: AUD, now });
    expect(r).toMatchObject({ spiffeId: ID, trustDomain: TD, audience: [AUD], kid: KID, alg: "ES256" });
    expect(r.expiresAt).toBe((sec + 300) * 1000);
    expect(r.issuedAt).toBe(sec * 1000);
  });
});

describe("JWT-SVIDs issued by the CA", () => {
  const time = clock(now);
  let f: CaFixture;
  beforeAll(async () => (f = await openCaFixture({ now: time.now })));
  afterAll(() => f.cleanup());

  test("header is exactly {alg: ES256, kid, typ: JWT}; kid is in the bundle", () => {
    const { token } = f.ca.issueJwtSvid({ spiffeId: ID, audience: AUD });
    const header = decodeProtectedHeader(token);
    expect(Object.keys(header).sort()).toEqual(["alg", "kid", "typ"]);
    expect(header).toMatchObject({ alg: "ES256", typ: "JWT" });
    expect(f.ca.bundle().jwtAuthorities.map((a) => a.kid)).toContain(header.kid!);
  });

  test("claims: sub = SPIFFE ID, aud, iat, exp = iat + 5 min by default", () => {
    const s = f.ca.issueJwtSvid({ spiffeId: ID, audience: AUD });
    const payload = JSON.parse(Buffer.from(s.token.split(".")[1]!, "base64url").toString());
    expect(payload).toEqual({ sub: ID, aud: AUD, iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 300 });
    expect(s.expiresAt).toBe(payload.exp * 1000);
  });

  test("several audiences are an array; TTL from the caller", () => {
    const s = f.ca.issueJwtSvid({ spiffeId: ID, audience: ["a", "b"], ttlSeconds: 60 });
    const payload = JSON.parse(Buffer.from(s.token.split(".")[1]!, "base64url").toString());
    expect(payload.aud).toEqual(["a", "b"]);
    expect(payload.exp - payload.iat).toBe(60);
  });

  test("jose verifies it with the bundle's JWKS (interoperability)", async () => {
    const { token } = f.ca.issueJwtSvid({ spiffeId: ID, audience: AUD });
    const jwks = createLocalJWKSet({ keys: f.ca.bundle().jwtAuthorities.map((a) => ({ ...a.jwk, kid: a.kid })) as never });
    const { payload } = await jwtVerify(token, jwks, { audience: AUD, currentDate: new Date(now), algorithms: ["ES256"] });
    expect(payload.sub).toBe(ID);
    await importJWK(f.ca.bundle().jwtAuthorities[0]!.jwk as never, "ES256");
  });

  test("sluice's validator accepts it until exp, then rejects it as expired", () => {
    const { token, expiresAt } = f.ca.issueJwtSvid({ spiffeId: ID, audience: AUD, ttlSeconds: 60 });
    expect(verifyJwtSvid(token, f.ca.bundles, { audience: AUD, now }).spiffeId).toBe(ID);
    expect(() => verifyJwtSvid(token, f.ca.bundles, { audience: AUD, now: expiresAt + 31_000 })).toThrow(expect.objectContaining({ rule: "expired" }));
  });

  const refusals: [string, () => unknown][] = [
    ["§3.2: no audience", () => f.ca.issueJwtSvid({ spiffeId: ID, audience: [] })],
    ["§3.2: an empty audience string", () => f.ca.issueJwtSvid({ spiffeId: ID, audience: "" })],
    ["another trust domain", () => f.ca.issueJwtSvid({ spiffeId: "spiffe://other.org/x", audience: AUD })],
  ];
  for (const [name, fn] of refusals) test(`refuses to issue with ${name} (TypeError)`, () => expect(fn).toThrow(TypeError));
});
