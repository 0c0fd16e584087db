/**
 * A small but real SvidSource for tests: an ECDSA P-256 root per trust domain that signs real
 * X.509-SVID leaves, and ES256 JWT-SVIDs (jose). Not the sluice CA (src/spiffe): only what the
 * Workload API needs to be exercised end to end.
 */
import { X509Certificate, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { SignJWT, exportJWK, jwtVerify } from "jose";
import type { IssuedJwtSvid, IssuedX509Svid, SvidSource } from "../../../../src/spiffe/workload-api/index.ts";
import { buildCertificate } from "./der.ts";

interface Root {
  key: KeyObject;
  der: Uint8Array;
}

function makeRoot(trustDomain: string): Root {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const now = Date.now();
  const der = buildCertificate({
    serial: randomBytes(16),
    issuerCN: `${trustDomain} root`,
    subjectCN: `${trustDomain} root`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 3600_000),
    spki: publicKey.export({ type: "spki", format: "der" }),
    ca: true,
    uriSans: [`spiffe://${trustDomain}`],
    signer: privateKey,
  });
  return { key: privateKey, der };
}

export class JwtValidationError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class TestSvidSource implements SvidSource {
  readonly roots: Root[];
  readonly federated = new Map<string, Root>();
  private readonly jwtKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
  private readonly kid = randomBytes(8).toString("hex");
  private readonly listeners = new Set<() => void>();
  /** Every X.509-SVID issued: serial (hex, uppercase as node prints it) and SPIFFE ID. */
  readonly issued: { spiffeId: string; serial: string; ttlSeconds: number }[] = [];
  /** Make the next issuances fail (CA trouble). */
  failIssuance = false;

  constructor(
    readonly trustDomain = "example.org",
    federatedDomains: string[] = ["partner.test"],
  ) {
    this.roots = [makeRoot(trustDomain)];
    for (const td of federatedDomains) this.federated.set(td, makeRoot(td));
  }

  async issueX509Svid(req: { spiffeId: string; ttlSeconds: number }): Promise<IssuedX509Svid> {
    if (this.failIssuance) throw new Error("test CA: issuance disabled");
    const root = this.roots[this.roots.length - 1]!;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const now = Date.now();
    const notAfter = new Date(now + req.ttlSeconds * 1000);
    const der = buildCertificate({
      serial: randomBytes(16),
      issuerCN: `${this.trustDomain} root`,
      subjectCN: "",
      notBefore: new Date(now - 10_000),
      notAfter,
      spki: publicKey.export({ type: "spki", format: "der" }),
      ca: false,
      uriSans: [req.spiffeId],
      signer: root.key,
    });
    this.issued.push({ spiffeId: req.spiffeId, serial: new X509Certificate(der).serialNumber, ttlSeconds: req.ttlSeconds });
    // X.509 time has second precision: report the notAfter the certificate actually carries.
    return { spiffeId: req.spiffeId, certChain: [der], privateKey: privateKey.export({ type: "pkcs8", format: "der" }), expiresAt: Math.floor(notAfter.getTime() / 1000) * 1000 };
  }

  async issueJwtSvid(req: { spiffeId: string; audience: string[]; ttlSeconds: number }): Promise<IssuedJwtSvid> {
    const exp = Math.floor(Date.now() / 1000) + req.ttlSeconds;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: this.kid, typ: "JWT" })
      .setSubject(req.spiffeId)
      .setAudience(req.audience)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(this.jwtKey.privateKey);
    return { token, expiresAt: exp * 1000 };
  }

  async validateJwtSvid(token: string, audience: string): Promise<{ spiffeId: string; claims: Record<string, unknown> }> {
    try {
      const { payload } = await jwtVerify(token, this.jwtKey.publicKey, { audience, algorithms: ["ES256"] });
      if (typeof payload.sub !== "string" || !payload.sub.startsWith("spiffe://")) throw new JwtValidationError("ERR_JWT_SVID_SUB", "sub is not a SPIFFE ID");
      return { spiffeId: payload.sub, claims: payload as Record<string, unknown> };
    } catch (err) {
      if (err instanceof JwtValidationError) throw err;
      const e = err as { code?: string; message?: string };
      throw new JwtValidationError(e.code ?? "ERR_JWT_SVID_INVALID", e.message ?? "invalid token");
    }
  }

  x509Bundles(): Map<string, Uint8Array[]> {
    const out = new Map<string, Uint8Array[]>([[this.trustDomain, this.roots.map((r) => r.der)]]);
    // Federated ones keyed with the scheme, to exercise both accepted key forms.
    for (const [td, root] of this.federated) out.set(`spiffe://${td}`, [root.der]);
    return out;
  }

  jwtBundles(): Map<string, Uint8Array> {
    const jwk = { ...this.publicJwk, kid: this.kid, use: "jwt-svid" };
    return new Map([[this.trustDomain, new TextEncoder().encode(JSON.stringify({ keys: [jwk] }))]]);
  }

  private publicJwk: Record<string, unknown> = {};

  async init(): Promise<this> {
    this.publicJwk = (await exportJWK(this.jwtKey.publicKey)) as Record<string, unknown>;
    return this;
  }

  /** A new root joins the bundle (rotation overlap) and bundle watchers are told. */
  addRoot(): void {
    this.roots.push(makeRoot(this.trustDomain));
    for (const fn of [...this.listeners]) fn();
  }

  onBundleChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
