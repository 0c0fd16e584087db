/**
 * Verifying the upstream's TLS peer. Web upstreams: the chain against the system trust store plus
 * `proxy.upstreamCaFile`, and the Service host name (Bun's own checks, never disabled). SPIFFE
 * upstreams (`tls: upgrade` with `spiffeID`): the chain against the workload's trust bundle, then
 * the leaf's URI SAN must equal the Service's SPIFFE ID (X509-SVID §5: SVIDs carry no DNS name to
 * check, so a host-name mismatch is the one error tolerated, and only on a chain that verified).
 */
import type { Socket } from "bun";
import { readFileSync } from "node:fs";
import { parseCertificate } from "../spiffe/index.ts";

export interface UpstreamTls {
  readonly serverName: string;
  /** PEM trust anchors. */
  readonly ca: string;
  /** mTLS: the workload's own X.509-SVID. */
  readonly clientCert?: { readonly certPem: string; readonly keyPem: string };
  /** The peer's URI SAN must be exactly this SPIFFE ID. */
  readonly expectSpiffeId?: string;
}

const SYSTEM_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/** System trust store (first bundle found) plus the operator's extra CA file. */
export function upstreamTrust(extraCaFile: string | null | undefined, systemBundles: readonly string[] = SYSTEM_BUNDLES): string {
  let pem = "";
  for (const f of systemBundles) {
    try {
      pem = readFileSync(f, "utf8");
      break;
    } catch {
      // next candidate
    }
  }
  if (extraCaFile) pem += "\n" + readFileSync(extraCaFile, "utf8");
  return pem;
}

const NAME_MISMATCH = new Set(["ERR_TLS_CERT_ALTNAME_INVALID", "HOSTNAME_MISMATCH"]);

/** undefined when the peer is acceptable, else why not. */
export function verifyUpstreamPeer(target: { tls?: UpstreamTls; service: string }, socket: Socket<unknown>, success: boolean, error: Error | null): string | undefined {
  const tls = target.tls!;
  const code = (error as { code?: string } | null)?.code ?? "";
  if (!tls.expectSpiffeId) {
    if (!success || error) return `TLS verification of ${target.service} failed: ${code || error?.message || "handshake failed"}`;
    return undefined;
  }
  // Bun reports success=false for the name mismatch alone; any other error means the chain failed.
  if (error ? !NAME_MISMATCH.has(code) : !success) return `TLS verification of ${target.service} failed: ${code || error?.message || "handshake failed"}`;
  const raw = socket.getPeerCertificate()?.raw;
  if (!raw) return `${target.service} presented no certificate`;
  const uris = (parseCertificate(new Uint8Array(raw)).subjectAltName?.names ?? []).filter((n) => n.type === "uri").map((n) => (n as { value: string }).value);
  // X509-SVID §2: exactly one URI SAN, the SPIFFE ID.
  if (uris.length !== 1 || uris[0] !== tls.expectSpiffeId) return `${target.service} presented SPIFFE ID ${uris.join(", ") || "(none)"}, expected ${tls.expectSpiffeId}`;
  return undefined;
}
