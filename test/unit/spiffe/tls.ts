/** A throwaway TLS PKI for local HTTPS servers on 127.0.0.1 (test root → server leaf with IP SAN). */
import { OID } from "../../../src/spiffe/der/oids.ts";
import { implicitPrimitive, sequence } from "../../../src/spiffe/der/writer.ts";
import { extension } from "../../../src/spiffe/x509/extensions-encode.ts";
import { toPem } from "./helpers.ts";
import { makeCert } from "./pki.ts";

export function localTls(): { caPem: string; cert: string; key: string } {
  const ca = makeCert({ kind: "ca" });
  const ipSan = extension(OID.subjectAltName, false, sequence(implicitPrimitive(7, Uint8Array.of(127, 0, 0, 1))));
  const server = makeCert({ kind: "leaf", issuer: ca, eku: [OID.serverAuth], extra: [ipSan] });
  return { caPem: toPem(ca.der), cert: toPem(server.der), key: server.key.export({ type: "pkcs8", format: "pem" }).toString() };
}
