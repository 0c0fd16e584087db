/** X509-SVID spec: what sluice issues has exactly the shape §2–§4 require (checked with node:crypto, sluice's DER reader and openssl). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KEY_USAGE, OID } from "../../../src/spiffe/der/oids.ts";
import { parseCertificate, verifyX509Svid, type X509Svid } from "../../../src/spiffe/index.ts";
import { spkiOf } from "../../../src/spiffe/x509/keys.ts";
import { clock, openCaFixture, TD, tempRoot, toPem, type CaFixture } from "./helpers.ts";

const ID = `spiffe://${TD}/claude`;
const time = clock(Date.now());
let f: CaFixture;
let svid: X509Svid;
let root: X509Certificate;

beforeAll(async () => {
  f = await openCaFixture({ now: time.now });
  svid = f.ca.issueX509Svid({ spiffeId: ID });
  root = new X509Certificate(f.ca.bundle().x509Authorities[0]!);
});
afterAll(() => f.cleanup());

const leafDer = () => svid.certChain[0]!;
const leaf = () => parseCertificate(leafDer());
const node = () => new X509Certificate(leafDer());

describe("X509-SVID issued leaf (§2, §3.1, §4)", () => {
  const cases: [string, () => void][] = [
    ["§2: exactly one URI SAN, the SPIFFE ID (node:crypto)", () => expect(node().subjectAltName).toBe(`URI:${ID}`)],
    ["§2: exactly one URI SAN (DER reader)", () => expect(leaf().subjectAltName!.names).toEqual([{ type: "uri", value: ID }])],
    ["§3.1: subject omitted, so the SAN extension is critical", () => {
      expect(leaf().subjectIsEmpty).toBe(true);
      expect(leaf().subjectAltName!.critical).toBe(true);
    }],
    ["§4.1: cA=false (node:crypto)", () => expect(node().ca).toBe(false)],
    ["§4.1: basicConstraints present, critical, cA=false, no pathLen", () => expect(leaf().basicConstraints).toEqual({ cA: false, critical: true })],
    ["§4.3: keyUsage critical with exactly digitalSignature", () => {
      expect(leaf().keyUsage!.critical).toBe(true);
      expect([...leaf().keyUsage!.bits]).toEqual([KEY_USAGE.digitalSignature]);
    }],
    ["§4.3: no keyCertSign, no cRLSign", () => {
      expect(leaf().keyUsage!.bits.has(KEY_USAGE.keyCertSign)).toBe(false);
      expect(leaf().keyUsage!.bits.has(KEY_USAGE.cRLSign)).toBe(false);
    }],
    ["§4.4: EKU has id-kp-serverAuth and id-kp-clientAuth (node:crypto)", () => expect(node().keyUsage).toEqual([OID.serverAuth, OID.clientAuth])],
    ["RFC 5280: v3, ecdsa-with-SHA256", () => {
      expect(leaf().version).toBe(3);
      expect(leaf().signatureAlgorithm).toBe(OID.ecdsaWithSha256);
    }],
    ["serial is a positive random 128-bit number", () => {
      expect(leaf().serial.length).toBeGreaterThanOrEqual(14);
      expect(leaf().serial.length).toBeLessThanOrEqual(16);
    }],
    ["signed by the bundle's root (node:crypto verify + checkIssued)", () => {
      expect(node().verify(root.publicKey)).toBe(true);
      expect(node().checkIssued(root)).toBe(true);
    }],
    ["authorityKeyIdentifier = the root's subjectKeyIdentifier", () => {
      expect(Buffer.from(leaf().authorityKeyId!)).toEqual(Buffer.from(parseCertificate(root.raw).subjectKeyId!));
    }],
    ["chain is the leaf alone (the root is in the bundle, not the chain)", () => expect(svid.certChain.length).toBe(1)],
    ["private key is PKCS#8 P-256 and matches the leaf", () => {
      const key = createPrivateKey({ key: Buffer.from(svid.privateKey!), format: "der", type: "pkcs8" });
      expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
      expect(Buffer.from(spkiOf(key))).toEqual(Buffer.from(leaf().spki));
    }],
    ["default TTL is one hour; expiresAt is the leaf's notAfter", () => {
      expect(svid.expiresAt).toBe(leaf().notAfter);
      expect(leaf().notAfter - Math.floor(time.now() / 1000) * 1000).toBe(3600_000);
      expect(node().validToDate.getTime()).toBe(svid.expiresAt);
    }],
    ["verifies with sluice's own validator", () => expect(verifyX509Svid(svid.certChain, f.ca.bundles, { now: time.now() }).spiffeId).toBe(ID)],
  ];
  for (const [name, check] of cases) test(name, check);

  test("serials differ between SVIDs", () => {
    const serials = new Set(Array.from({ length: 50 }, () => Buffer.from(parseCertificate(f.ca.issueX509Svid({ spiffeId: ID }).certChain[0]!).serial).toString("hex")));
    expect(serials.size).toBe(50);
  });

  test("TTL from the caller (the WorkloadIdentity's x509TTL)", () => {
    const s = f.ca.issueX509Svid({ spiffeId: ID, ttlSeconds: 600 });
    expect(s.expiresAt - Math.floor(time.now() / 1000) * 1000).toBe(600_000);
  });

  test("never outlives the CA: a TTL beyond the CA's expiry is cut to it", () => {
    const s = f.ca.issueX509Svid({ spiffeId: ID, ttlSeconds: 400 * 24 * 3600 });
    expect(s.expiresAt).toBe(parseCertificate(root.raw).notAfter);
  });

  test("with the workload's own public key: no private key returned, the leaf carries that key", () => {
    const own = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const s = f.ca.issueX509Svid({ spiffeId: ID, publicKey: own.publicKey });
    expect(s.privateKey).toBeUndefined();
    expect(Buffer.from(parseCertificate(s.certChain[0]!).spki)).toEqual(Buffer.from(spkiOf(own.publicKey)));
  });

  test("§4.3: an RSA workload key may also have keyEncipherment", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const spki = new Uint8Array(rsa.publicKey.export({ type: "spki", format: "der" }));
    const s = f.ca.issueX509Svid({ spiffeId: ID, publicKey: spki });
    expect([...parseCertificate(s.certChain[0]!).keyUsage!.bits].sort()).toEqual([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]);
  });

  test("hint is passed through", () => expect(f.ca.issueX509Svid({ spiffeId: ID, hint: "internal" }).hint).toBe("internal"));

  const refusals: [string, () => unknown][] = [
    ["another trust domain", () => f.ca.issueX509Svid({ spiffeId: "spiffe://other.org/claude" })],
    ["§3.1: a root SPIFFE ID (no path)", () => f.ca.issueX509Svid({ spiffeId: `spiffe://${TD}` })],
    ["an invalid SPIFFE ID", () => f.ca.issueX509Svid({ spiffeId: `spiffe://${TD}/a/../b` })],
    ["a TTL below one second", () => f.ca.issueX509Svid({ spiffeId: ID, ttlSeconds: 0 })],
    ["a private key as publicKey", () => f.ca.issueX509Svid({ spiffeId: ID, publicKey: generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey })],
  ];
  for (const [name, fn] of refusals) test(`refuses to issue for ${name} (TypeError)`, () => expect(fn).toThrow(TypeError));
});

describe("X509-SVID signing certificate (§3.2, §4)", () => {
  const ca = () => parseCertificate(root.raw);
  const cases: [string, () => void][] = [
    ["§4.1: cA=true, critical", () => expect(ca().basicConstraints).toEqual({ cA: true, critical: true })],
    ["§4.3: keyUsage critical with keyCertSign (and cRLSign), nothing else", () => {
      expect(ca().keyUsage!.critical).toBe(true);
      expect([...ca().keyUsage!.bits].sort()).toEqual([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]);
    }],
    ["§3.2: its SPIFFE ID has no path: spiffe://<td>", () => expect(root.subjectAltName).toBe(`URI:spiffe://${TD}`)],
    ["self-signed, ECDSA P-256, subject names the trust domain", () => {
      expect(root.verify(root.publicKey)).toBe(true);
      expect(root.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
      expect(root.subject).toContain(`O=${TD}`);
    }],
  ];
  for (const [name, check] of cases) test(name, check);
});

const openssl = Bun.which("openssl");
if (!openssl) console.warn("x509-issue: openssl is not installed (scripts/setup installs it), so the openssl cross-check is skipped");
test.skipIf(!openssl)("openssl verifies the leaf against the bundle for TLS client and server use", () => {
  const tmp = tempRoot("sluice-openssl-");
  try {
    const rootFile = join(tmp.root, "root.pem");
    const leafFile = join(tmp.root, "leaf.pem");
    writeFileSync(rootFile, toPem(root.raw));
    writeFileSync(leafFile, toPem(leafDer()));
    for (const purpose of ["sslclient", "sslserver"]) {
      const r = Bun.spawnSync([openssl!, "verify", "-CAfile", rootFile, "-purpose", purpose, leafFile]);
      expect(r.stdout.toString().trim()).toBe(`${leafFile}: OK`);
    }
    const text = Bun.spawnSync([openssl!, "x509", "-in", leafFile, "-noout", "-text"]).stdout.toString();
    expect(text).toMatch(/X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/example\.org\/claude\n/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
  } finally {
    tmp.cleanup();
  }
});

test("public key input as KeyObject or SPKI DER gives the same leaf key", () => {
  const own = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const der = new Uint8Array(own.publicKey.export({ type: "spki", format: "der" }));
  const a = f.ca.issueX509Svid({ spiffeId: ID, publicKey: der });
  expect(createPublicKey({ key: Buffer.from(parseCertificate(a.certChain[0]!).spki), format: "der", type: "spki" }).equals(own.publicKey)).toBe(true);
});
