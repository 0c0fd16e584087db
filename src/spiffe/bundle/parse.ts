/**
 * SPIFFE bundle JSON → TrustBundle, strictly: what the spec says to ignore is ignored, anything
 * else that is wrong is a `BundleError` naming the rule. Trust Domain and Bundle §4,
 * X509-SVID §6.2, JWT-SVID §6.2.
 */
import { createPublicKey, X509Certificate } from "node:crypto";
import { trustDomainProblem } from "../../identity/index.ts";
import { BundleError } from "../errors.ts";
import { parseCertificate } from "../x509/parse.ts";
import { freezeBundle, type JsonWebKey, type JwtAuthority, type TrustBundle } from "./types.ts";

export const BUNDLE_LIMITS = { maxBytes: 1 << 20, maxKeys: 1000 } as const;

/** Key types a SPIFFE JWK may have that sluice understands; others are ignored (§4.2.1). */
const KNOWN_KTY = new Set(["EC", "RSA", "OKP"]);
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

export function parseBundle(input: string | Uint8Array, trustDomain: string): TrustBundle {
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem) throw new BundleError("trust-domain", `invalid trust domain ${JSON.stringify(trustDomain)}: ${tdProblem.message}`);
  const size = typeof input === "string" ? Buffer.byteLength(input) : input.length;
  if (size > BUNDLE_LIMITS.maxBytes) throw new BundleError("too-large", `bundle is ${size} bytes; the limit is ${BUNDLE_LIMITS.maxBytes}`);
  let doc: unknown;
  try {
    doc = JSON.parse(typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true }).decode(input));
  } catch (err) {
    throw new BundleError("json", `bundle is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isObject(doc)) throw new BundleError("not-object", "bundle must be a JSON object (a JWK Set)");
  // §4.1.3: `keys` MUST be present; an empty array is valid (the trust domain revoked everything).
  if (!Array.isArray(doc.keys)) throw new BundleError("keys", 'bundle has no "keys" array');
  if (doc.keys.length > BUNDLE_LIMITS.maxKeys) throw new BundleError("keys", `bundle has ${doc.keys.length} keys; the limit is ${BUNDLE_LIMITS.maxKeys}`);

  const x509Authorities: Uint8Array[] = [];
  const jwtAuthorities: JwtAuthority[] = [];
  doc.keys.forEach((key: unknown, i: number) => {
    const where = `keys[${i}]`;
    if (!isObject(key)) throw new BundleError("key", `${where} is not an object`);
    // §4.2.1/§4.2.2: an unknown or missing `kty` or `use` → ignore the whole entry.
    if (typeof key.kty !== "string" || !KNOWN_KTY.has(key.kty)) return;
    if (key.use === "x509-svid") {
      const der = x509Entry(key, where);
      if (der) x509Authorities.push(der);
    } else if (key.use === "jwt-svid") {
      const entry = jwtEntry(key, where);
      if (jwtAuthorities.some((a) => a.kid === entry.kid)) throw new BundleError("kid", `${where}: duplicate kid ${JSON.stringify(entry.kid)}`);
      jwtAuthorities.push(entry);
    }
  });

  return freezeBundle({
    trustDomain,
    x509Authorities,
    jwtAuthorities,
    sequence: optionalInteger(doc.spiffe_sequence, "sequence", "spiffe_sequence") ?? 0,
    ...withHint(optionalInteger(doc.spiffe_refresh_hint, "refresh-hint", "spiffe_refresh_hint")),
  });
}

function x509Entry(key: Record<string, unknown>, where: string): Uint8Array | undefined {
  // X509-SVID §6.2: no `x5c` or an empty one → ignore; only the first value counts.
  if (key.x5c === undefined || (Array.isArray(key.x5c) && key.x5c.length === 0)) return undefined;
  if (!Array.isArray(key.x5c)) throw new BundleError("x5c", `${where}: x5c must be an array`);
  // X509-SVID §6.1: `kid` MUST NOT be set on x509-svid entries.
  if (key.kid !== undefined) throw new BundleError("kid", `${where}: an x509-svid entry must not have a kid`);
  const first = key.x5c[0];
  if (typeof first !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(first)) throw new BundleError("x5c", `${where}: x5c[0] is not standard base64`);
  const der = new Uint8Array(Buffer.from(first, "base64"));
  let cert: X509Certificate;
  try {
    // Both parsers must accept it: the validator uses sluice's, the key members come from node's.
    parseCertificate(der);
    cert = new X509Certificate(der);
  } catch (err) {
    throw new BundleError("x5c", `${where}: x5c[0] is not a DER certificate: ${(err as Error).message}`, { cause: err });
  }
  // RFC 7517 §4.7: the key in the first certificate MUST match the JWK's own members.
  const certJwk = cert.publicKey.export({ format: "jwk" }) as Record<string, unknown>;
  for (const member of ["kty", "crv", "x", "y", "n", "e"]) {
    if (key[member] !== undefined && key[member] !== certJwk[member])
      throw new BundleError("x5c", `${where}: JWK member "${member}" does not match the certificate's public key`);
  }
  return der;
}

function jwtEntry(key: Record<string, unknown>, where: string): JwtAuthority {
  // JWT-SVID §6.1: `kid` MUST be set.
  if (typeof key.kid !== "string" || key.kid === "") throw new BundleError("kid", `${where}: a jwt-svid entry must have a non-empty kid`);
  for (const m of PRIVATE_MEMBERS) if (key[m] !== undefined) throw new BundleError("private-key", `${where}: contains private key material ("${m}"); a bundle holds public keys only`);
  const jwk: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(key)) if (k !== "use" && k !== "kid" && k !== "key_ops") jwk[k] = v;
  try {
    createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
  } catch (err) {
    throw new BundleError("key", `${where} (kid ${key.kid}): not a usable public key: ${(err as Error).message}`, { cause: err });
  }
  return { kid: key.kid, jwk: jwk as JsonWebKey };
}

function optionalInteger(value: unknown, rule: "sequence" | "refresh-hint", name: string): number | undefined {
  if (value === undefined) return undefined;
  // §4.1.1/§4.1.2: integers; sequences beyond 2^53 would lose precision here, so refuse them.
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw new BundleError(rule, `${name} must be a non-negative integer (got ${JSON.stringify(value)})`);
  return value;
}

const withHint = (hint: number | undefined) => (hint === undefined ? {} : { refreshHint: hint });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
