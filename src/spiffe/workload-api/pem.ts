/** DER ⇄ PEM for what the Workload API hands out. */

/** Splits concatenated DER certificates (the wire form of x509_svid and bundles). */
export function splitDerCertificates(blob: Uint8Array): Uint8Array[] {
  const certs: Uint8Array[] = [];
  let at = 0;
  while (at < blob.length) {
    if (blob[at] !== 0x30) throw new Error(`expected a DER SEQUENCE at byte ${at}`);
    if (at + 2 > blob.length) throw new Error("truncated DER length");
    const first = blob[at + 1]!;
    let length: number;
    let header: number;
    if (first < 0x80) {
      length = first;
      header = 2;
    } else {
      const n = first & 0x7f;
      if (n === 0 || n > 4 || at + 2 + n > blob.length) throw new Error("unsupported DER length");
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + blob[at + 2 + i]!;
      header = 2 + n;
    }
    const end = at + header + length;
    if (end > blob.length) throw new Error("truncated DER certificate");
    certs.push(blob.slice(at, end));
    at = end;
  }
  return certs;
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export const certificatesToPem = (ders: readonly Uint8Array[]): string => ders.map((d) => toPem("CERTIFICATE", d)).join("");
