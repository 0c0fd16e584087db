/** SPIFFE bundle JSON (Trust Domain and Bundle §4, X509-SVID §6, JWT-SVID §6): produce, parse, strict errors. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { BundleError, BundleSet, bundleToDocument, bundleToJson, parseBundle, type BundleRule, type TrustBundle } from "../../../src/spiffe/index.ts";
import { publicJwk } from "../../../src/spiffe/jwt/jwk.ts";
import { openCaFixture, TD, type CaFixture } from "./helpers.ts";
import { makeRoot } from "./pki.ts";

let f: CaFixture;
let bundle: TrustBundle;
beforeAll(async () => {
  f = await openCaFixture();
  bundle = f.ca.bundle();
});
afterAll(() => f.cleanup());

const root = makeRoot(TD);
const rootB64 = Buffer.from(root.der).toString("base64");
const jwk = publicJwk(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
const doc = (keys: unknown[], more: Record<string, unknown> = {}) => JSON.stringify({ keys, spiffe_sequence: 7, spiffe_refresh_hint: 60, ...more });

describe("producing (§4, X509-SVID §6.1, JWT-SVID §6.1)", () => {
  test("a JWK Set with spiffe_sequence, spiffe_refresh_hint and one entry per authority", () => {
    const d = bundleToDocument(bundle);
    expect(d.spiffe_sequence).toBe(bundle.sequence);
    expect(d.spiffe_refresh_hint).toBe(bundle.refreshHint!);
    expect(d.keys.map((k) => k.use)).toEqual(["x509-svid", "jwt-svid"]);
  });

  test("X509-SVID §6.1: use x509-svid, no kid, x5c with exactly the one CA certificate, key members matching it", () => {
    const [x] = bundleToDocument(bundle).keys;
    expect(x).toMatchObject({ use: "x509-svid", kty: "EC", crv: "P-256" });
    expect(x!.kid).toBeUndefined();
    expect(x!.x5c).toEqual([Buffer.from(bundle.x509Authorities[0]!).toString("base64")]);
  });

  test("JWT-SVID §6.1: use jwt-svid with kid set", () => {
    const [, j] = bundleToDocument(bundle).keys;
    expect(j).toMatchObject({ use: "jwt-svid", kid: bundle.jwtAuthorities[0]!.kid, kty: "EC", crv: "P-256" });
    expect(j!.d).toBeUndefined();
  });

  test("`only` restricts to one use (the Workload API's JWT bundles)", () => {
    expect(bundleToDocument(bundle, { only: "jwt-svid" }).keys.map((k) => k.use)).toEqual(["jwt-svid"]);
    expect(bundleToDocument(bundle, { only: "x509-svid" }).keys.map((k) => k.use)).toEqual(["x509-svid"]);
  });

  test("round trip: JSON → parse gives the same bundle", () => {
    const parsed = parseBundle(bundleToJson(bundle), TD);
    expect(parsed.x509Authorities.map((d) => Buffer.from(d))).toEqual(bundle.x509Authorities.map((d) => Buffer.from(d)));
    expect(parsed.jwtAuthorities).toEqual(bundle.jwtAuthorities);
    expect(parsed.sequence).toBe(bundle.sequence);
    expect(parsed.refreshHint).toBe(bundle.refreshHint!);
  });
});

describe("consuming: what the specs say to ignore is ignored", () => {
  const ignored: [string, unknown][] = [
    ["§4.2.2: an entry without use", { kty: "EC", ...jwk, kid: "a" }],
    ["§4.2.2: an unknown use", { ...jwk, use: "enc", kid: "a" }],
    ["§4.2.2: use is case sensitive", { ...jwk, use: "JWT-SVID", kid: "a" }],
    ["§4.2.1: an unknown kty", { kty: "PQC", use: "jwt-svid", kid: "a" }],
    ["§4.2.1: no kty", { use: "x509-svid", x5c: [rootB64] }],
    ["X509-SVID §6.2: no x5c", { kty: "EC", use: "x509-svid" }],
    ["X509-SVID §6.2: an empty x5c", { kty: "EC", use: "x509-svid", x5c: [] }],
  ];
  for (const [name, entry] of ignored) {
    test(name, () => {
      const b = parseBundle(doc([entry]), TD);
      expect(b.x509Authorities.length + b.jwtAuthorities.length).toBe(0);
    });
  }

  test("X509-SVID §6.2: only the first x5c value counts", () => {
    const b = parseBundle(doc([{ kty: "EC", use: "x509-svid", x5c: [rootB64, "bm90IGEgY2VydA=="] }]), TD);
    expect(b.x509Authorities.map((d) => Buffer.from(d))).toEqual([Buffer.from(root.der)]);
  });

  test("§4.1.3: an empty keys array is a valid (revoked) bundle", () => {
    expect(parseBundle(doc([]), TD)).toMatchObject({ x509Authorities: [], jwtAuthorities: [], sequence: 7 });
  });

  test("§4.1: unknown top-level members are ignored; sequence and hint are optional", () => {
    const b = parseBundle(JSON.stringify({ keys: [], extra: { x: 1 } }), TD);
    expect(b.sequence).toBe(0);
    expect(b.refreshHint).toBeUndefined();
  });

  test("an RSA CA like the spec's Appendix A example", () => {
    const rsaRoot = makeRoot(TD, { key: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey });
    const b = parseBundle(bundleToJson({ trustDomain: TD, x509Authorities: [rsaRoot.der], jwtAuthorities: [], sequence: 1, refreshHint: 2419200 }), TD);
    expect(bundleToDocument(b).keys[0]).toMatchObject({ kty: "RSA", e: "AQAB", use: "x509-svid" });
  });
});

describe("consuming: strict errors", () => {
  const errors: [string, string | Uint8Array, BundleRule][] = [
    ["not JSON", "{keys: []}", "json"],
    ["invalid UTF-8", Uint8Array.of(0x7b, 0xff, 0x7d), "json"],
    ["a JSON array", "[]", "not-object"],
    ["§4.1.3: no keys", JSON.stringify({ spiffe_sequence: 1 }), "keys"],
    ["§4.1.3: keys is not an array", JSON.stringify({ keys: {} }), "keys"],
    ["§4.1.1: a negative spiffe_sequence", doc([], { spiffe_sequence: -1 }), "sequence"],
    ["§4.1.1: a fractional spiffe_sequence", doc([], { spiffe_sequence: 1.5 }), "sequence"],
    ["§4.1.1: a spiffe_sequence beyond 2^53", '{"keys":[],"spiffe_sequence":18446744073709551615}', "sequence"],
    ["§4.1.2: spiffe_refresh_hint as a string", doc([], { spiffe_refresh_hint: "300" }), "refresh-hint"],
    ["a key entry that is not an object", doc([42]), "key"],
    ["X509-SVID §6.1: an x509-svid entry with a kid", doc([{ kty: "EC", use: "x509-svid", kid: "k", x5c: [rootB64] }]), "kid"],
    ["x5c is not an array", doc([{ kty: "EC", use: "x509-svid", x5c: rootB64 }]), "x5c"],
    ["x5c[0] is base64url, not base64", doc([{ kty: "EC", use: "x509-svid", x5c: [Buffer.from(root.der).toString("base64url") + "-_"] }]), "x5c"],
    ["x5c[0] is not a certificate", doc([{ kty: "EC", use: "x509-svid", x5c: ["bm90IGEgY2VydA=="] }]), "x5c"],
    ["RFC 7517 §4.7: JWK members that do not match the certificate", doc([{ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, use: "x509-svid", x5c: [rootB64] }]), "x5c"],
    ["JWT-SVID §6.1: a jwt-svid entry without kid", doc([{ ...jwk, use: "jwt-svid" }]), "kid"],
    ["two jwt-svid entries with the same kid", doc([{ ...jwk, use: "jwt-svid", kid: "k" }, { ...jwk, use: "jwt-svid", kid: "k" }]), "kid"],
    ["a jwt-svid entry with private key material", doc([{ ...jwk, d: "AAAA", use: "jwt-svid", kid: "k" }]), "private-key"],
    ["a jwt-svid entry that is not a usable key", doc([{ kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA", use: "jwt-svid", kid: "k" }]), "key"],
    ["a document over 1 MiB", JSON.stringify({ keys: [], pad: "x".repeat(1 << 20) }), "too-large"],
    ["more than 1000 keys", doc(Array.from({ length: 1001 }, () => ({}))), "keys"],
  ];
  for (const [name, input, rule] of errors) {
    test(`${name} → ${rule}`, () => {
      try {
        parseBundle(input, TD);
        throw new Error("expected a BundleError");
      } catch (err) {
        expect(err).toBeInstanceOf(BundleError);
        expect((err as BundleError).code).toBe("ERR_SPIFFE_BUNDLE");
        expect((err as BundleError).rule).toBe(rule);
      }
    });
  }

  test("an invalid trust domain name", () => expect(() => parseBundle(doc([]), "Example.org")).toThrow(expect.objectContaining({ rule: "trust-domain" })));
  test("errors name the offending entry", () => expect(() => parseBundle(doc([{}, { ...jwk, use: "jwt-svid" }]), TD)).toThrow(/keys\[1\]/));
});

describe("BundleSet", () => {
  test("notifies subscribers of changes and deletions; unsubscribe stops it; a throwing listener does not stop others", () => {
    const set = new BundleSet();
    const seen: [string, number | undefined][] = [];
    set.onBundleChange(() => {
      throw new Error("buggy subscriber");
    });
    const off = set.onBundleChange((td, b) => seen.push([td, b?.sequence]));
    const b = set.set({ trustDomain: "a.org", x509Authorities: [], jwtAuthorities: [], sequence: 1 });
    set.set(b); // the same object: no news
    set.set({ trustDomain: "a.org", x509Authorities: [], jwtAuthorities: [], sequence: 2 });
    set.delete("a.org");
    off();
    set.set({ trustDomain: "b.org", x509Authorities: [], jwtAuthorities: [], sequence: 1 });
    expect(seen).toEqual([["a.org", 1], ["a.org", 2], ["a.org", undefined]]);
    expect(set.trustDomains()).toEqual(["b.org"]);
    expect(Object.isFrozen(set.get("b.org"))).toBe(true);
  });
});
