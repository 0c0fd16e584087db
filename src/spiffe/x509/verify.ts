/**
 * X.509-SVID validation for authentication (X509-SVID §5): leaf rules of §2, §3.1, §4.1, §4.3,
 * §4.4 and §5.2, then RFC 5280 path validation to an authority of the ID's trust domain.
 */
import { tryParseSpiffeId } from "../../identity/index.ts";
import type { BundleSource } from "../bundle/types.ts";
import { KEY_USAGE, OID } from "../der/oids.ts";
import { SvidError, type X509SvidRule } from "../errors.ts";
import { parseCertificate, type ParsedCertificate } from "./parse.ts";
import { validatePath } from "./path.ts";

export interface VerifyX509SvidOptions {
  /** ms since the epoch. */
  readonly now?: number;
}

export interface VerifiedX509Svid {
  readonly spiffeId: string;
  readonly trustDomain: string;
  readonly leaf: ParsedCertificate;
  /** The validated path as DER, leaf first, ending with the bundle's authority. */
  readonly path: readonly Uint8Array[];
  /** When the first certificate of the path expires, ms since the epoch. */
  readonly expiresAt: number;
}

export const MAX_CHAIN_LENGTH = 10;
export const MAX_CERT_BYTES = 64 * 1024;

function fail(rule: X509SvidRule, message: string, certIndex = 0): never {
  throw new SvidError("x509", rule, message, { certIndex });
}

export function verifyX509Svid(chainDer: readonly Uint8Array[], bundles: BundleSource, options: VerifyX509SvidOptions = {}): VerifiedX509Svid {
  const now = options.now ?? Date.now();
  if (!Array.isArray(chainDer) || chainDer.length === 0) fail("chain-empty", "no certificate presented");
  if (chainDer.length > MAX_CHAIN_LENGTH) fail("chain-too-long", `chain has ${chainDer.length} certificates; the limit is ${MAX_CHAIN_LENGTH}`);
  const chain = chainDer.map((der, i) => ({ cert: parse(der, i), index: i }));
  const leaf = chain[0]!.cert;
  const { spiffeId, trustDomain } = checkLeaf(leaf);

  const bundle = bundles.get(trustDomain);
  if (!bundle) fail("no-bundle", `no bundle for trust domain ${trustDomain}`);
  // Trust Domain and Bundle §4.1.3 / X509-SVID §6.2: no usable authority → every SVID is untrusted.
  const anchors = bundle.x509Authorities.map(parseAuthority).filter((a): a is ParsedCertificate => a !== undefined);
  if (anchors.length === 0) fail("no-x509-authorities", `the bundle of ${trustDomain} has no X.509 authorities`);

  const path = validatePath(leaf, chain.slice(1), anchors, now);
  return Object.freeze({
    spiffeId,
    trustDomain,
    leaf,
    path: path.map((c) => c.der),
    expiresAt: Math.min(...path.map((c) => c.notAfter)),
  });
}

function parse(der: Uint8Array, index: number): ParsedCertificate {
  if (!(der instanceof Uint8Array)) throw new TypeError("verifyX509Svid: certificates must be DER bytes");
  if (der.length > MAX_CERT_BYTES) fail("malformed", `certificate ${index} is larger than ${MAX_CERT_BYTES} bytes`, index);
  try {
    return parseCertificate(der);
  } catch (err) {
    return fail("malformed", `certificate ${index} is malformed: ${(err as Error).message}`, index);
  }
}

/** The leaf-only rules, in the spec's order. */
function checkLeaf(leaf: ParsedCertificate): { spiffeId: string; trustDomain: string } {
  const uris = (leaf.subjectAltName?.names ?? []).filter((n) => n.type === "uri");
  // §2 / §5.2: exactly one URI SAN; more than one MUST be rejected.
  if (uris.length === 0) fail("uri-san-missing", "the leaf has no URI SAN (no SPIFFE ID)");
  if (uris.length > 1) fail("uri-san-multiple", `the leaf has ${uris.length} URI SANs; an X.509-SVID has exactly one`);
  // §3.1 (RFC 5280 §4.1.2.6): without a Subject the SAN extension MUST be critical.
  if (leaf.subjectIsEmpty && !leaf.subjectAltName!.critical) fail("san-not-critical", "the leaf has an empty subject and a non-critical SAN");
  const uri = uris[0]!.type === "uri" ? uris[0]!.value : "";
  // §5.2: the scheme MUST be spiffe and the ID MUST have a non-root path.
  const id = tryParseSpiffeId(uri);
  if (!id.ok) throw new SvidError("x509", "spiffe-id", `URI SAN ${JSON.stringify(uri)} is not a valid SPIFFE ID: ${id.error.message}`, { certIndex: 0, cause: id.error });
  if (id.value.path === "") fail("spiffe-id-root-path", `${uri} has no path; a leaf SVID's SPIFFE ID must have one`);
  // §4.1 / §5.2: a leaf MUST have cA=false.
  if (leaf.basicConstraints?.cA) fail("leaf-is-ca", "the leaf is a CA certificate (cA=true)");
  // §4.3: key usage MUST be set and critical; digitalSignature MUST be set; keyCertSign/cRLSign MUST NOT.
  const ku = leaf.keyUsage;
  if (!ku) fail("key-usage-missing", "the leaf has no keyUsage extension");
  if (!ku.critical) fail("key-usage-not-critical", "the leaf's keyUsage extension is not critical");
  if (!ku.bits.has(KEY_USAGE.digitalSignature)) fail("digital-signature-missing", "the leaf's keyUsage lacks digitalSignature");
  if (ku.bits.has(KEY_USAGE.keyCertSign)) fail("leaf-key-cert-sign", "the leaf's keyUsage has keyCertSign");
  if (ku.bits.has(KEY_USAGE.cRLSign)) fail("leaf-crl-sign", "the leaf's keyUsage has cRLSign");
  // §4.4: when EKU is present, serverAuth and clientAuth MUST be set.
  const eku = leaf.extKeyUsage;
  if (eku && !eku.includes(OID.anyExtendedKeyUsage) && !(eku.includes(OID.serverAuth) && eku.includes(OID.clientAuth)))
    fail("extended-key-usage", "the leaf's extendedKeyUsage must include both serverAuth and clientAuth");
  return { spiffeId: id.value.id, trustDomain: id.value.trustDomain };
}

const authorities = new WeakMap<Uint8Array, ParsedCertificate | null>();
/** Bundle authorities parsed once per bundle entry; one this parser refuses is not usable. */
function parseAuthority(der: Uint8Array): ParsedCertificate | undefined {
  let parsed = authorities.get(der);
  if (parsed === undefined) {
    try {
      parsed = parseCertificate(der);
    } catch {
      parsed = null;
    }
    authorities.set(der, parsed);
  }
  return parsed ?? undefined;
}
