/** X509-SVID spec §2, §3, §4, §5: validation MUSTs, each with a certificate crafted to break it. */
import { describe, expect, test } from "bun:test";
import { KEY_USAGE, OID } from "../../../src/spiffe/der/oids.ts";
import { BundleSet, SvidError, verifyX509Svid, type X509SvidRule } from "../../../src/spiffe/index.ts";
import { distinguishedName } from "../../../src/spiffe/x509/name.ts";
import { tlv } from "../../../src/spiffe/der/writer.ts";
import { extension } from "../../../src/spiffe/x509/extensions-encode.ts";
import { p256, TD } from "./helpers.ts";
import { breakSignature, makeCert, makeLeaf, makeRoot, unknownExtension, uriNameConstraints, type CertOptions, type Issuer } from "./pki.ts";

const OTHER = "other.org";
const ID = `spiffe://${TD}/workload`;
const NOW = Date.now();
const HOUR = 3_600_000;

const root = makeRoot(TD);
const otherRoot = makeRoot(OTHER);
const bundles = new BundleSet();
bundles.set({ trustDomain: TD, x509Authorities: [root.der], jwtAuthorities: [], sequence: 1 });
bundles.set({ trustDomain: OTHER, x509Authorities: [otherRoot.der], jwtAuthorities: [], sequence: 1 });

const intermediate = (options: CertOptions = {}, issuer: Issuer = root): Issuer =>
  makeCert({ kind: "ca", issuer, uris: [`spiffe://${TD}`], ...options });

function ruleOf(chain: Uint8Array[], source = bundles): { rule: string; certIndex: number | undefined } | "ok" {
  try {
    verifyX509Svid(chain, source, { now: NOW });
    return "ok";
  } catch (err) {
    if (!(err instanceof SvidError)) throw err;
    expect(err.code).toBe("ERR_X509_SVID_INVALID");
    return { rule: err.rule, certIndex: err.certIndex };
  }
}

type Case = [name: string, chain: () => Uint8Array[], expected: X509SvidRule | "ok", source?: BundleSet];

const stranger = makeRoot(TD); // same trust domain name, not in the bundle
const inter = intermediate();
const emptyBundles = new BundleSet();
emptyBundles.set({ trustDomain: TD, x509Authorities: [], jwtAuthorities: [], sequence: 2 });
const nonCaRoot = makeRoot(TD, { ca: false });
const nonCaBundles = new BundleSet();
nonCaBundles.set({ trustDomain: TD, x509Authorities: [nonCaRoot.der], jwtAuthorities: [], sequence: 1 });

const cases: Case[] = [
  ["a well-formed SVID (control)", () => [makeLeaf(root, ID)], "ok"],
  ["§2: two URI SANs", () => [makeLeaf(root, ID, { uris: [ID, `spiffe://${TD}/other`] })], "uri-san-multiple"],
  ["§2: a SPIFFE ID and a second, non-SPIFFE URI SAN", () => [makeLeaf(root, ID, { uris: [ID, "https://example.org/"] })], "uri-san-multiple"],
  ["§2: no URI SAN (only a DNS SAN)", () => [makeLeaf(root, ID, { uris: [], dnsNames: ["workload.example.org"] })], "uri-san-missing"],
  ["§2: no SAN extension at all", () => [makeLeaf(root, ID, { uris: [] })], "uri-san-missing"],
  ["§2: DNS SANs next to the one URI SAN are allowed", () => [makeLeaf(root, ID, { dnsNames: ["a.example.org", "b.example.org"] })], "ok"],
  ["§3.1: empty subject with a non-critical SAN", () => [makeLeaf(root, ID, { sanCritical: false })], "san-not-critical"],
  ["§3.1: a subject with a non-critical SAN is fine", () => [makeLeaf(root, ID, { name: distinguishedName([[OID.organizationName, "acme"]]), sanCritical: false })], "ok"],
  ["§5.2: SPIFFE ID with a query", () => [makeLeaf(root, `${ID}?x=1`)], "spiffe-id"],
  ["§5.2: SPIFFE ID with a fragment", () => [makeLeaf(root, `${ID}#frag`)], "spiffe-id"],
  ["§5.2: SPIFFE ID with a port", () => [makeLeaf(root, `spiffe://${TD}:8443/workload`)], "spiffe-id"],
  ["§5.2: SPIFFE ID with userinfo", () => [makeLeaf(root, `spiffe://user@${TD}/workload`)], "spiffe-id"],
  ["§5.2: scheme is not spiffe", () => [makeLeaf(root, `https://${TD}/workload`)], "spiffe-id"],
  ["§5.2: SPIFFE ID with a dot segment", () => [makeLeaf(root, `spiffe://${TD}/a/../b`)], "spiffe-id"],
  ["§3.1/§5.2: SPIFFE ID without a path (root ID on a leaf)", () => [makeLeaf(root, `spiffe://${TD}`)], "spiffe-id-root-path"],
  ["§4.1/§5.2: the leaf is a CA (cA=true)", () => [makeLeaf(root, ID, { ca: true })], "leaf-is-ca"],
  ["§4.1: leaf without basicConstraints (cA defaults to false, RFC 5280)", () => [makeLeaf(root, ID, { ca: null })], "ok"],
  ["§4.3: no keyUsage extension", () => [makeLeaf(root, ID, { keyUsage: null })], "key-usage-missing"],
  ["§4.3: keyUsage not critical", () => [makeLeaf(root, ID, { keyUsageCritical: false })], "key-usage-not-critical"],
  ["§4.3: keyUsage without digitalSignature", () => [makeLeaf(root, ID, { keyUsage: [KEY_USAGE.keyEncipherment] })], "digital-signature-missing"],
  ["§4.3/§5.2: keyCertSign on a leaf", () => [makeLeaf(root, ID, { keyUsage: [KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign] })], "leaf-key-cert-sign"],
  ["§4.3/§5.2: cRLSign on a leaf", () => [makeLeaf(root, ID, { keyUsage: [KEY_USAGE.digitalSignature, KEY_USAGE.cRLSign] })], "leaf-crl-sign"],
  ["§4.3: keyEncipherment and keyAgreement are allowed", () => [makeLeaf(root, ID, { keyUsage: [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment, KEY_USAGE.keyAgreement] })], "ok"],
  ["§4.4: EKU with serverAuth only", () => [makeLeaf(root, ID, { eku: [OID.serverAuth] })], "extended-key-usage"],
  ["§4.4: EKU with clientAuth only", () => [makeLeaf(root, ID, { eku: [OID.clientAuth] })], "extended-key-usage"],
  ["§4.4: no EKU extension (SHOULD, not MUST)", () => [makeLeaf(root, ID, { eku: null })], "ok"],
  ["§5.1: expired leaf", () => [makeLeaf(root, ID, { notBefore: NOW - 2 * HOUR, notAfter: NOW - HOUR })], "expired"],
  ["§5.1: leaf not yet valid", () => [makeLeaf(root, ID, { notBefore: NOW + HOUR, notAfter: NOW + 2 * HOUR })], "not-yet-valid"],
  ["§5.1: signed by an unknown CA with the same trust domain", () => [makeLeaf(stranger, ID)], "unknown-authority"],
  ["§5.1: forged: names the real issuer but signed with another key", () => [makeLeaf(root, ID, { signWith: p256() })], "signature"],
  ["§5.1: broken signature (one bit flipped)", () => [breakSignature(makeLeaf(root, ID))], "signature"],
  ["§5.2: wrong trust domain: a leaf of other.org signed by example.org's CA", () => [makeLeaf(root, `spiffe://${OTHER}/workload`)], "unknown-authority"],
  ["wrong trust domain: an ID in a trust domain with no bundle", () => [makeLeaf(root, "spiffe://nobody.org/workload")], "no-bundle"],
  ["Bundle §4.1.3: the trust domain's bundle has no X.509 authorities", () => [makeLeaf(root, ID)], "no-x509-authorities", emptyBundles],
  ["RFC 5280 §4.2: an unknown critical extension", () => [makeLeaf(root, ID, { extra: [unknownExtension(true)] })], "unknown-critical-extension"],
  ["RFC 5280 §4.2: an unknown non-critical extension is ignored", () => [makeLeaf(root, ID, { extra: [unknownExtension(false)] })], "ok"],
  ["RFC 5280 §4.2: the same extension twice", () => [makeLeaf(root, ID, { extra: [extension(OID.keyUsage, true, tlv(0x03, Uint8Array.of(7, 0x80)))] })], "malformed"],
  ["not DER at all", () => [Uint8Array.of(1, 2, 3)], "malformed"],
  ["trailing bytes after the certificate", () => [Uint8Array.from([...makeLeaf(root, ID), 0])], "malformed"],
  ["an empty chain", () => [], "chain-empty"],
  ["a chain of 11 certificates", () => Array.from({ length: 11 }, () => makeLeaf(root, ID)), "chain-too-long"],
  ["§3.2: valid path through an intermediate signing certificate", () => [makeLeaf(inter, ID), inter.der], "ok"],
  ["§5.1: intermediates may come in any order", () => {
    const i2 = intermediate({}, inter);
    return [makeLeaf(i2, ID), inter.der, i2.der];
  }, "ok"],
  ["§5.1: the root may be presented in the chain too", () => [makeLeaf(root, ID), root.der], "ok"],
  ["§5.1: without the intermediate the path is incomplete", () => [makeLeaf(inter, ID)], "unknown-authority"],
  ["§4.1: an intermediate with cA=false", () => {
    const fake = intermediate({ ca: false });
    return [makeLeaf(fake, ID), fake.der];
  }, "signing-cert-not-ca"],
  ["§4.3: an intermediate without keyCertSign", () => {
    const fake = intermediate({ keyUsage: [KEY_USAGE.cRLSign] });
    return [makeLeaf(fake, ID), fake.der];
  }, "signing-cert-key-usage"],
  ["§4.1: an authority in the bundle that is not a CA", () => [makeLeaf(nonCaRoot, ID)], "signing-cert-not-ca", nonCaBundles],
  ["§5.1: an expired intermediate", () => {
    const old = intermediate({ notBefore: NOW - 3 * HOUR, notAfter: NOW - HOUR });
    return [makeLeaf(old, ID), old.der];
  }, "expired"],
  ["§4.2: URI name constraints that exclude the leaf's trust domain", () => {
    const nc = intermediate({ extra: [uriNameConstraints([OTHER])] });
    return [makeLeaf(nc, ID), nc.der];
  }, "name-constraints"],
  ["§4.2: URI name constraints that permit the leaf's trust domain", () => {
    const nc = intermediate({ extra: [uriNameConstraints([TD])] });
    return [makeLeaf(nc, ID), nc.der];
  }, "ok"],
];

/** Nine self-signed look-alikes sharing one name and key: each is a valid issuer of every other. */
function lookAlikes(): Uint8Array[] {
  const key = p256();
  const first = makeCert({ kind: "ca", key, uris: [`spiffe://${TD}`] });
  const copies = Array.from({ length: 8 }, () => makeCert({ kind: "ca", key, name: first.name, uris: [`spiffe://${TD}`] }).der);
  return [makeLeaf(first, ID), first.der, ...copies];
}

describe("X.509-SVID validation (X509-SVID §5)", () => {
  for (const [name, chain, expected, source] of cases) {
    test(`${name} → ${expected}`, () => {
      const result = ruleOf(chain(), source);
      expect(result === "ok" ? "ok" : result.rule).toBe(expected);
    });
  }

  test("a chain of look-alike issuers cannot make path building explode", () => {
    const chain = lookAlikes();
    const start = performance.now();
    expect(ruleOf(chain)).toMatchObject({ rule: "unknown-authority" });
    expect(performance.now() - start).toBeLessThan(1000);
  });

  test("the error names the certificate at fault (an expired intermediate is index 1)", () => {
    const old = intermediate({ notBefore: NOW - 3 * HOUR, notAfter: NOW - HOUR });
    expect(ruleOf([makeLeaf(old, ID), old.der])).toEqual({ rule: "expired", certIndex: 1 });
  });

  test("returns the SPIFFE ID, the validated path and the earliest expiry", () => {
    const leaf = makeLeaf(inter, ID, { notAfter: NOW + HOUR });
    const r = verifyX509Svid([leaf, inter.der], bundles, { now: NOW });
    expect(r.spiffeId).toBe(ID);
    expect(r.trustDomain).toBe(TD);
    expect(r.path.map((d) => Buffer.from(d))).toEqual([leaf, inter.der, root.der].map((d) => Buffer.from(d)));
    expect(r.expiresAt).toBe(Math.floor((NOW + HOUR) / 1000) * 1000);
  });
});

// pathLen needs its own trust domain and bundle.
test("RFC 5280 §4.2.1.9: pathLenConstraint 0 on the root forbids an intermediate below it", () => {
  const strict = makeRoot("strict.org", { pathLen: 0 });
  const set2 = new BundleSet();
  set2.set({ trustDomain: "strict.org", x509Authorities: [strict.der], jwtAuthorities: [], sequence: 1 });
  const i = makeCert({ kind: "ca", issuer: strict, uris: ["spiffe://strict.org"] });
  expect(ruleOf([makeLeaf(i, "spiffe://strict.org/w"), i.der], set2)).toEqual({ rule: "path-length", certIndex: undefined });
  expect(ruleOf([makeLeaf(strict, "spiffe://strict.org/w")], set2)).toBe("ok");
});
