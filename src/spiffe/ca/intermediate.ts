/**
 * An operator-supplied signing certificate and key (an intermediate of the operator's PKI). sluice
 * checks it is an X.509-SVID signing certificate for this trust domain and then only uses it:
 * renewing it is the operator's job.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { KEY_USAGE } from "../der/oids.ts";
import { CaError } from "../errors.ts";
import { keyIdentifier, spkiOf } from "../x509/keys.ts";
import { equalBytes, parseCertificate, type ParsedCertificate } from "../x509/parse.ts";
import { signedBy } from "../x509/signature.ts";
import type { Logger } from "../../log/index.ts";

export interface IntermediateFiles {
  /** PEM: the signing certificate first, optionally followed by its issuers up to the root. */
  readonly certFile: string;
  /** PEM: its private key (PKCS#8 or SEC1), unencrypted. */
  readonly keyFile: string;
}

export interface LoadedIntermediate {
  readonly cert: ParsedCertificate;
  readonly privateKey: KeyObject;
  readonly keyId: Uint8Array;
  /** Sent after each leaf: the signing certificate and any intermediates above it (not the anchor). */
  readonly chain: readonly Uint8Array[];
  /** Published in the bundle: the last certificate of the file (the root when it is included). */
  readonly anchor: Uint8Array;
  /** The earliest expiry along the chain: no leaf may outlive it. */
  readonly notAfter: number;
}

export function loadIntermediate(files: IntermediateFiles, trustDomain: string, now: number, logger: Logger): LoadedIntermediate {
  const bad = (why: string, cause?: unknown): never => {
    throw new CaError("ERR_CA_INTERMEDIATE", `intermediate CA ${files.certFile}: ${why}`, { cause });
  };
  const certs = readPem(files.certFile, "CERTIFICATE", bad).map((der, i) => {
    try {
      return parseCertificate(der);
    } catch (err) {
      return bad(`certificate ${i + 1} is malformed: ${(err as Error).message}`, err);
    }
  });
  if (certs.length === 0) bad("no CERTIFICATE block found");
  const cert = certs[0]!;
  // X509-SVID §3.2, §4.1, §4.3: a signing certificate has cA=true and a critical keyUsage with keyCertSign.
  if (!cert.basicConstraints?.cA) bad("not a CA certificate (basicConstraints cA is not true)");
  if (!cert.keyUsage?.critical || !cert.keyUsage.bits.has(KEY_USAGE.keyCertSign)) bad("keyUsage must be critical and include keyCertSign");
  // §3.2: its SPIFFE ID MUST NOT have a path; sluice requires it to be this trust domain's.
  const uris = (cert.subjectAltName?.names ?? []).flatMap((n) => (n.type === "uri" ? [n.value] : []));
  const expected = `spiffe://${trustDomain}`;
  if (uris.length !== 1 || (uris[0] !== expected && uris[0] !== `${expected}/`)) bad(`must have exactly one URI SAN, ${expected} (found ${uris.join(", ") || "none"})`);
  for (let i = 0; i + 1 < certs.length; i++) {
    if (!equalBytes(certs[i]!.issuer, certs[i + 1]!.subject) || !signedBy(certs[i]!, certs[i + 1]!)) bad(`certificate ${i + 1} is not signed by certificate ${i + 2} of the file`);
  }
  const notAfter = Math.min(...certs.map((c) => c.notAfter));
  if (certs.some((c) => now < c.notBefore || now > c.notAfter)) bad("a certificate of the chain is expired or not yet valid");

  const privateKey = readKey(files.keyFile, bad);
  if (!equalBytes(spkiOf(privateKey), cert.spki)) bad(`the key in ${files.keyFile} does not belong to the certificate`);
  warnIfReadable(files.keyFile, logger);

  return {
    cert,
    privateKey,
    keyId: cert.subjectKeyId ?? keyIdentifier(cert.spki),
    chain: certs.length > 1 ? certs.slice(0, -1).map((c) => c.der) : [],
    anchor: certs[certs.length - 1]!.der,
    notAfter,
  };
}

function readPem(path: string, label: string, bad: (why: string, cause?: unknown) => never): Uint8Array[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    return bad(`cannot read ${path}: ${(err as Error).message}`, err);
  }
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`, "g");
  return [...text.matchAll(re)].map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")));
}

function readKey(path: string, bad: (why: string, cause?: unknown) => never): KeyObject {
  try {
    return createPrivateKey(readFileSync(path, "utf8"));
  } catch (err) {
    return bad(`cannot load the private key ${path} (PEM, PKCS#8 or SEC1, unencrypted): ${(err as Error).message}`, err);
  }
}

function warnIfReadable(path: string, logger: Logger): void {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) logger.warn("the intermediate CA key file is readable by other users; chmod 600 it", { keyFile: path, mode: mode.toString(8) });
}
