/**
 * Certificate (RFC 5280 §4.1) → the fields sluice checks. Structure only: no signature or
 * policy checks here (see verify-x509.ts). Throws `DerError` on malformed input.
 */
import { children, encoded, expectTag, readBitString, readOid, readRoot, readSmallInteger, readTime, readUnsignedInteger, type DerNode } from "../der/reader.ts";
import { TAG } from "../der/writer.ts";
import { DerError } from "../errors.ts";
import { decodeExtensions, type CertExtensions } from "./extensions-decode.ts";

export interface ParsedCertificate extends CertExtensions {
  readonly der: Uint8Array;
  /** The signed bytes (TBSCertificate, DER). */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
  readonly version: number;
  readonly serial: Uint8Array;
  /** Issuer and subject Names as DER (compared byte for byte when building paths). */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly subjectIsEmpty: boolean;
  readonly notBefore: number;
  readonly notAfter: number;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
}

export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const cert = expectTag(readRoot(der), TAG.sequence, "Certificate");
  const [tbsNode, algNode, sigNode, ...extra] = children(cert);
  if (!tbsNode || !algNode || !sigNode || extra.length) throw new DerError("Certificate must have 3 elements");
  expectTag(tbsNode, TAG.sequence, "TBSCertificate");
  const signatureAlgorithm = readAlgorithm(algNode);
  const sig = readBitString(sigNode);
  if (sig.unusedBits !== 0) throw new DerError("signature BIT STRING has unused bits");

  const fields = children(tbsNode);
  let i = 0;
  let version = 1;
  if (fields[0]?.tag === 0xa0) {
    const [v, ...rest] = children(fields[0]);
    if (!v || rest.length) throw new DerError("malformed version");
    version = readSmallInteger(v) + 1;
    if (version !== 2 && version !== 3) throw new DerError(`unsupported version v${version}`);
    i = 1;
  }
  const next = (what: string): DerNode => {
    const n = fields[i++];
    if (!n) throw new DerError(`TBSCertificate: missing ${what}`);
    return n;
  };
  const serial = readUnsignedInteger(next("serialNumber"));
  const innerAlg = next("signature");
  // RFC 5280 §4.1.1.2: signatureAlgorithm MUST equal TBSCertificate.signature.
  if (!equalBytes(encoded(innerAlg), encoded(algNode))) throw new DerError("signatureAlgorithm differs from TBSCertificate.signature");
  const issuer = expectTag(next("issuer"), TAG.sequence, "issuer");
  const validity = children(expectTag(next("validity"), TAG.sequence, "validity"));
  if (validity.length !== 2) throw new DerError("validity must have 2 times");
  const subject = expectTag(next("subject"), TAG.sequence, "subject");
  const spki = expectTag(next("subjectPublicKeyInfo"), TAG.sequence, "subjectPublicKeyInfo");
  let extensionsNode: DerNode | undefined;
  for (; i < fields.length; i++) {
    const f = fields[i]!;
    // issuerUniqueID [1] / subjectUniqueID [2] are obsolete and ignored; extensions [3] come last.
    if (f.tag === 0xa3 && i === fields.length - 1) extensionsNode = f;
    else if (f.tag !== 0x81 && f.tag !== 0x82) throw new DerError(`unexpected TBSCertificate field 0x${f.tag.toString(16)}`);
  }
  if (extensionsNode && version !== 3) throw new DerError("extensions require a v3 certificate");
  const ext = extensionsNode ? decodeExtensions(extensionsNode) : decodeExtensions(undefined);

  return {
    ...ext,
    der,
    tbs: encoded(tbsNode),
    signatureAlgorithm,
    signature: sig.bytes,
    version,
    serial,
    issuer: encoded(issuer),
    subject: encoded(subject),
    subjectIsEmpty: subject.end === subject.contentStart,
    notBefore: readTime(validity[0]!),
    notAfter: readTime(validity[1]!),
    spki: encoded(spki),
  };
}

/** AlgorithmIdentifier → OID; parameters must be absent or NULL. */
export function readAlgorithm(node: DerNode): string {
  const [alg, params, ...extra] = children(expectTag(node, TAG.sequence, "AlgorithmIdentifier"));
  if (!alg || extra.length) throw new DerError("malformed AlgorithmIdentifier");
  if (params && !(params.tag === TAG.null && params.end === params.contentStart)) throw new DerError("algorithm parameters are not supported");
  return readOid(alg);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
