/** A self-signed X.509-SVID signing certificate: the root of a trust domain (X509-SVID §3.2, §4). */
import { KEY_USAGE, OID } from "../der/oids.ts";
import { buildCertificate, randomSerial } from "./build.ts";
import { authorityKeyId, basicConstraints, keyUsage, subjectAltName, subjectKeyId } from "./extensions-encode.ts";
import { keyIdentifier, signerFor, spkiOf } from "./keys.ts";
import { distinguishedName } from "./name.ts";
import type { KeyObject } from "node:crypto";

export interface RootRequest {
  readonly trustDomain: string;
  readonly privateKey: KeyObject;
  /** Distinguishes successive roots of one trust domain in the subject (e.g. a short key id). */
  readonly label: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export function buildRootCertificate(request: RootRequest): Uint8Array {
  const spki = spkiOf(request.privateKey);
  const keyId = keyIdentifier(spki);
  const name = distinguishedName([
    [OID.organizationName, request.trustDomain],
    [OID.commonName, `sluice CA ${request.label}`],
  ]);
  return buildCertificate(
    {
      serial: randomSerial(),
      issuer: name,
      subject: name,
      notBefore: request.notBefore,
      notAfter: request.notAfter,
      spki,
      extensions: [
        // §4.1: signing certificates MUST set cA=true.
        basicConstraints(true, { critical: true }),
        // §4.3: key usage MUST be critical; signing certificates MUST set keyCertSign, MAY set cRLSign.
        keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
        // §3.2: a signing certificate's SPIFFE ID MUST NOT have a path: `spiffe://<td>`.
        subjectAltName({ uris: [`spiffe://${request.trustDomain}`] }, false),
        subjectKeyId(keyId),
        authorityKeyId(keyId),
      ],
    },
    signerFor(request.privateKey),
  );
}
