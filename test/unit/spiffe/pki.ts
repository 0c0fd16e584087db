/**
 * A test PKI built with sluice's own DER writer: good and deliberately bad certificates for the
 * X.509-SVID validation tables.
 */
import type { KeyObject } from "node:crypto";
import { KEY_USAGE, OID } from "../../../src/spiffe/der/oids.ts";
import { implicitPrimitive, sequence, tlv } from "../../../src/spiffe/der/writer.ts";
import { buildCertificate, randomSerial } from "../../../src/spiffe/x509/build.ts";
import { authorityKeyId, basicConstraints, extension, extKeyUsage, keyUsage, subjectAltName, subjectKeyId } from "../../../src/spiffe/x509/extensions-encode.ts";
import { keyIdentifier, signerFor, spkiOf } from "../../../src/spiffe/x509/keys.ts";
import { distinguishedName, EMPTY_NAME } from "../../../src/spiffe/x509/name.ts";
import { p256 } from "./helpers.ts";

export interface Issuer {
  readonly der: Uint8Array;
  readonly name: Uint8Array;
  readonly key: KeyObject;
  readonly keyId: Uint8Array;
}

export interface CertOptions {
  /** Default: self-signed. */
  issuer?: Issuer;
  /** Subject name; default a CN for CAs, empty for leaves. */
  name?: Uint8Array;
  key?: KeyObject;
  uris?: string[];
  dnsNames?: string[];
  sanCritical?: boolean;
  /** `undefined` → default for the kind; `null` → extension omitted. */
  ca?: boolean | null;
  pathLen?: number;
  keyUsage?: number[] | null;
  keyUsageCritical?: boolean;
  eku?: string[] | null;
  notBefore?: number;
  notAfter?: number;
  extra?: Uint8Array[];
  /** Sign with this key instead of the issuer's (a forged certificate). */
  signWith?: KeyObject;
}

const NOW = () => Date.now();

export function makeCert(options: CertOptions & { kind: "ca" | "leaf" }): Issuer {
  const key = options.key ?? p256();
  const spki = spkiOf(key);
  const keyId = keyIdentifier(spki);
  const isCa = options.kind === "ca";
  const name = options.name ?? (isCa ? distinguishedName([[OID.commonName, `test CA ${Buffer.from(keyId).toString("hex").slice(0, 8)}`]]) : EMPTY_NAME);
  const issuer = options.issuer ?? { der: new Uint8Array(0), name, key, keyId };
  const extensions: Uint8Array[] = [];
  const ca = options.ca === undefined ? isCa : options.ca;
  if (ca !== null) extensions.push(basicConstraints(ca, options.pathLen === undefined ? {} : { pathLen: options.pathLen }));
  const ku = options.keyUsage === undefined ? (isCa ? [KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign] : [KEY_USAGE.digitalSignature]) : options.keyUsage;
  if (ku !== null) extensions.push(keyUsage(ku, options.keyUsageCritical ?? true));
  const eku = options.eku === undefined ? (isCa ? null : [OID.serverAuth, OID.clientAuth]) : options.eku;
  if (eku !== null) extensions.push(extKeyUsage(eku));
  if (options.uris?.length || options.dnsNames?.length)
    extensions.push(subjectAltName({ uris: options.uris ?? [], dnsNames: options.dnsNames ?? [] }, options.sanCritical ?? name.length === 2));
  extensions.push(subjectKeyId(keyId), authorityKeyId(issuer.keyId), ...(options.extra ?? []));
  const der = buildCertificate(
    {
      serial: randomSerial(),
      issuer: issuer.name,
      subject: name,
      notBefore: options.notBefore ?? NOW() - 60_000,
      notAfter: options.notAfter ?? NOW() + 3_600_000,
      spki,
      extensions,
    },
    signerFor(options.signWith ?? issuer.key),
  );
  return { der, name, key, keyId };
}

export const makeRoot = (td: string, options: CertOptions = {}): Issuer => makeCert({ kind: "ca", uris: [`spiffe://${td}`], ...options });
export const makeLeaf = (issuer: Issuer, id: string, options: CertOptions = {}): Uint8Array => makeCert({ kind: "leaf", issuer, uris: [id], ...options }).der;

/** NameConstraints with permitted URI subtrees (RFC 5280 §4.2.1.10), critical. */
export function uriNameConstraints(permitted: string[]): Uint8Array {
  const subtrees = permitted.map((host) => sequence(implicitPrimitive(6, new TextEncoder().encode(host))));
  return extension(OID.nameConstraints, true, sequence(tlv(0xa0, ...subtrees)));
}

/** An extension sluice does not understand (a private OID). */
export const unknownExtension = (critical: boolean): Uint8Array => extension("1.3.6.1.4.1.99999.1", critical, sequence());

/** Flip one bit of the signature value (the last byte of the certificate). */
export function breakSignature(der: Uint8Array): Uint8Array {
  const out = new Uint8Array(der);
  out[out.length - 1]! ^= 0x01;
  return out;
}

