/** An operator-supplied intermediate: checked as an X.509-SVID signing certificate, used, never rotated. */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KEY_USAGE } from "../../../src/spiffe/der/oids.ts";
import { CaError, parseCertificate, verifyX509Svid } from "../../../src/spiffe/index.ts";
import { memoryLogger, openCaFixture, p256, TD, tempRoot, toPem } from "./helpers.ts";
import { makeCert, makeRoot, type CertOptions, type Issuer } from "./pki.ts";

const ID = `spiffe://${TD}/claude`;
const tmp = tempRoot("sluice-intermediate-");
afterAll(() => tmp.cleanup());
let n = 0;

const operatorRoot = makeRoot(TD);
const makeIntermediate = (options: CertOptions = {}): Issuer => makeCert({ kind: "ca", issuer: operatorRoot, uris: [`spiffe://${TD}`], ...options });

/** Write cert chain + key PEM files; returns their paths. */
function files(certs: Uint8Array[], key: Issuer["key"], mode = 0o600): { certFile: string; keyFile: string } {
  const i = n++;
  const certFile = join(tmp.root, `ca-${i}.pem`);
  const keyFile = join(tmp.root, `ca-${i}.key`);
  writeFileSync(certFile, certs.map((c) => toPem(c)).join(""));
  writeFileSync(keyFile, key.export({ type: "pkcs8", format: "pem" }));
  chmodSync(keyFile, mode);
  return { certFile, keyFile };
}

describe("operator intermediate", () => {
  test("SVIDs chain leaf → intermediate → the operator's root, which is the bundle's only X.509 authority", async () => {
    const inter = makeIntermediate();
    const { logger, lines } = memoryLogger();
    const f = await openCaFixture({ intermediate: files([inter.der, operatorRoot.der], inter.key), logger }, { withAudit: true });
    try {
      expect(f.ca.mode).toBe("intermediate");
      expect(f.ca.bundle().x509Authorities.map((d) => Buffer.from(d))).toEqual([Buffer.from(operatorRoot.der)]);
      const svid = f.ca.issueX509Svid({ spiffeId: ID });
      expect(svid.certChain.length).toBe(2);
      expect(Buffer.from(svid.certChain[1]!)).toEqual(Buffer.from(inter.der));
      expect(verifyX509Svid(svid.certChain, f.ca.bundles).spiffeId).toBe(ID);
      // The operator renews it; sluice says so and never rotates it.
      expect(lines.some((l) => String(l.msg).includes("does not rotate"))).toBe(true);
      f.ca.rotateNow({ immediate: true });
      expect(f.ca.bundle().x509Authorities.length).toBe(1);
      expect(f.ca.bundle().jwtAuthorities.length).toBe(2);
      await f.audit!.flush();
      expect(f.audit!.tail(10).map((r) => r.kind)).toContain("spiffe.x509-authority.operator");
    } finally {
      await f.cleanup();
    }
  });

  test("leaves never outlive the intermediate", async () => {
    const inter = makeIntermediate({ notAfter: Date.now() + 600_000 });
    const f = await openCaFixture({ intermediate: files([inter.der, operatorRoot.der], inter.key) });
    try {
      const svid = f.ca.issueX509Svid({ spiffeId: ID, ttlSeconds: 3600 });
      expect(svid.expiresAt).toBe(parseCertificate(inter.der).notAfter);
    } finally {
      await f.cleanup();
    }
  });

  test("a file with the intermediate alone publishes the intermediate as the authority", async () => {
    const inter = makeIntermediate();
    const f = await openCaFixture({ intermediate: files([inter.der], inter.key) });
    try {
      expect(Buffer.from(f.ca.bundle().x509Authorities[0]!)).toEqual(Buffer.from(inter.der));
      const svid = f.ca.issueX509Svid({ spiffeId: ID });
      expect(svid.certChain.length).toBe(1);
      expect(verifyX509Svid(svid.certChain, f.ca.bundles).spiffeId).toBe(ID);
    } finally {
      await f.cleanup();
    }
  });

  test("a key file readable by others is used but warned about", async () => {
    const inter = makeIntermediate();
    const { logger, lines } = memoryLogger();
    const f = await openCaFixture({ intermediate: files([inter.der, operatorRoot.der], inter.key, 0o644), logger });
    await f.cleanup();
    expect(lines.some((l) => l.level === "warn" && String(l.msg).includes("chmod 600"))).toBe(true);
  });

  const refusals: [string, () => { certFile: string; keyFile: string }, RegExp][] = [
    ["not a CA (cA=false)", () => { const c = makeIntermediate({ ca: false }); return files([c.der], c.key); }, /not a CA/],
    ["no keyCertSign", () => { const c = makeIntermediate({ keyUsage: [KEY_USAGE.cRLSign] }); return files([c.der], c.key); }, /keyCertSign/],
    ["keyUsage not critical", () => { const c = makeIntermediate({ keyUsageCritical: false }); return files([c.der], c.key); }, /critical/],
    ["URI SAN of another trust domain", () => { const c = makeIntermediate({ uris: ["spiffe://other.org"] }); return files([c.der], c.key); }, /exactly one URI SAN/],
    ["URI SAN with a path", () => { const c = makeIntermediate({ uris: [`spiffe://${TD}/ca`] }); return files([c.der], c.key); }, /exactly one URI SAN/],
    ["no URI SAN", () => { const c = makeIntermediate({ uris: [] }); return files([c.der], c.key); }, /exactly one URI SAN/],
    ["a key that is not the certificate's", () => { const c = makeIntermediate(); return files([c.der], p256()); }, /does not belong/],
    ["an expired certificate", () => { const c = makeIntermediate({ notBefore: Date.now() - 7200_000, notAfter: Date.now() - 3600_000 }); return files([c.der], c.key); }, /expired/],
    ["a chain whose second certificate did not sign the first", () => { const c = makeIntermediate(); return files([c.der, makeRoot(TD).der], c.key); }, /not signed by certificate 2/],
    ["a file without certificates", () => { const c = makeIntermediate(); const p = files([c.der], c.key); writeFileSync(p.certFile, "nothing here\n"); return p; }, /no CERTIFICATE/],
    ["a missing file", () => ({ certFile: join(tmp.root, "absent.pem"), keyFile: join(tmp.root, "absent.key") }), /cannot read/],
  ];
  for (const [name, make, message] of refusals) {
    test(`refuses ${name} (ERR_CA_INTERMEDIATE)`, async () => {
      const err = await openCaFixture({ intermediate: make() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CaError);
      expect((err as CaError).code).toBe("ERR_CA_INTERMEDIATE");
      expect((err as CaError).message).toMatch(message);
    });
  }
});
