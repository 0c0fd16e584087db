/**
 * The host CA's certificates, built with sluice's own DER/X.509 writer (../../spiffe): a P-256
 * self-signed CA ("sluice host CA") and TLS server leaves whose SAN is a DNS name or an IP address.
 *
 * No name constraints on the CA: the Services it must cover come from policy and change at run
 * time, so a permitted-subtrees list fixed at creation would either be wrong after the next policy
 * edit or force a re-trust on every edit. The CA's key is sealed in the store and only the proxy
 * signs with it; `sluice trust uninstall` removes it from the system store.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import { KEY_USAGE, OID } from "../../spiffe/der/oids.ts";
import { implicitPrimitive, sequence } from "../../spiffe/der/writer.ts";
import { buildCertificate, randomSerial } from "../../spiffe/x509/build.ts";
import { authorityKeyId, basicConstraints, extension, extKeyUsage, keyUsage, subjectKeyId } from "../../spiffe/x509/extensions-encode.ts";
import { keyIdentifier, signerFor, spkiOf } from "../../spiffe/x509/keys.ts";
import { distinguishedName } from "../../spiffe/x509/name.ts";
import { parseIPv4, parseIPv6 } from "../../policy/index.ts";

export const HOST_CA_NAME = "sluice host CA";

export function buildHostCaCertificate(privateKey: KeyObject, hostLabel: string, notBefore: number, notAfter: number): Uint8Array {
  const spki = spkiOf(privateKey);
  const keyId = keyIdentifier(spki);
  const name = distinguishedName([
    [OID.organizationName, "sluice"],
    [OID.commonName, `${HOST_CA_NAME} (${hostLabel})`],
  ]);
  return buildCertificate(
    {
      serial: randomSerial(),
      issuer: name,
      subject: name,
      notBefore,
      notAfter,
      spki,
      extensions: [
        // RFC 5280 §4.2.1.9: a CA certificate MUST set cA=true, critical; pathLen 0: leaves only.
        basicConstraints(true, { critical: true, pathLen: 0 }),
        keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
        subjectKeyId(keyId),
        authorityKeyId(keyId),
      ],
    },
    signerFor(privateKey),
  );
}

function ipBytes(text: string): Uint8Array {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  let v6 = parseIPv6(text);
  if (v6 === undefined) throw new TypeError(`not an IP address: ${text}`);
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--, v6 >>= 8n) out[i] = Number(v6 & 255n);
  return out;
}

/** SAN for a server leaf: dNSName [2] IA5String or iPAddress [7] OCTET STRING (RFC 5280 §4.2.1.6). */
function serverSan(names: readonly string[]): Uint8Array {
  const enc = new TextEncoder();
  const general = names.map((n) => {
    if (isIP(n)) {
      return implicitPrimitive(7, ipBytes(n));
    }
    return implicitPrimitive(2, enc.encode(n));
  });
  // Subject is empty, so the SAN MUST be critical (RFC 5280 §4.2.1.6).
  return extension(OID.subjectAltName, true, sequence(...general));
}

export interface LeafSigner {
  readonly subject: Uint8Array;
  readonly keyId: Uint8Array;
  readonly privateKey: KeyObject;
}

export function buildServerLeaf(ca: LeafSigner, leafPublicKey: KeyObject, names: readonly string[], notBefore: number, notAfter: number): Uint8Array {
  const spki = spkiOf(leafPublicKey.type === "private" ? createPublicKey(leafPublicKey) : leafPublicKey);
  return buildCertificate(
    {
      serial: randomSerial(),
      issuer: ca.subject,
      subject: distinguishedName([]),
      notBefore,
      notAfter,
      spki,
      extensions: [
        basicConstraints(false, { critical: true }),
        keyUsage([KEY_USAGE.digitalSignature]),
        extKeyUsage([OID.serverAuth]),
        serverSan(names),
        subjectKeyId(keyIdentifier(spki)),
        authorityKeyId(ca.keyId),
      ],
    },
    signerFor(ca.privateKey),
  );
}
