/**
 * Trust bundles as the Workload API carries them: keyed by the trust domain's SPIFFE ID
 * (`spiffe://example.org`), X.509 authorities as concatenated DER.
 */
import { createHash } from "node:crypto";

export const SPIFFE_SCHEME = "spiffe://";

/** `example.org` or `spiffe://example.org` → `spiffe://example.org` (lowercased, no trailing slash). */
export function trustDomainKey(trustDomain: string): string {
  const td = trustDomain.startsWith(SPIFFE_SCHEME) ? trustDomain.slice(SPIFFE_SCHEME.length) : trustDomain;
  return SPIFFE_SCHEME + td.replace(/\/+$/, "").toLowerCase();
}

/** The trust domain key of a SPIFFE ID (`spiffe://example.org/ns/a` → `spiffe://example.org`). */
export function trustDomainKeyOf(spiffeId: string): string {
  if (!spiffeId.startsWith(SPIFFE_SCHEME)) throw new TypeError(`not a SPIFFE ID: ${JSON.stringify(spiffeId)}`);
  const rest = spiffeId.slice(SPIFFE_SCHEME.length);
  const slash = rest.indexOf("/");
  return trustDomainKey(slash === -1 ? rest : rest.slice(0, slash));
}

export function normalizeKeys<V>(map: Map<string, V>): Map<string, V> {
  const out = new Map<string, V>();
  for (const [k, v] of map) out.set(trustDomainKey(k), v);
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** X.509 bundles as the wire wants them: one concatenated DER blob per trust domain. */
export function x509BundleBlobs(bundles: Map<string, Uint8Array[]>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [k, certs] of normalizeKeys(bundles)) if (certs.length > 0) out.set(k, concatBytes(certs));
  return out;
}

/** A digest of a bundle map, to tell whether a stream has something new to say. */
export function bundlesDigest(bundles: Map<string, Uint8Array>): string {
  const h = createHash("sha256");
  for (const key of [...bundles.keys()].sort()) {
    const value = bundles.get(key)!;
    h.update(`${key.length}:${key}:${value.length}:`);
    h.update(value);
  }
  return h.digest("hex");
}
