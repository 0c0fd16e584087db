/**
 * SPIFFE bundle → JSON (Trust Domain and Bundle §4): a JWK Set with `spiffe_sequence`,
 * `spiffe_refresh_hint` and one JWK per authority.
 */
import { X509Certificate } from "node:crypto";
import type { JsonWebKey, TrustBundle } from "./types.ts";

export type SvidUse = "x509-svid" | "jwt-svid";

export interface BundleJwk extends JsonWebKey {
  use: SvidUse;
  kid?: string;
  x5c?: string[];
}

export interface BundleDocument {
  keys: BundleJwk[];
  spiffe_sequence?: number;
  spiffe_refresh_hint?: number;
}

const publicParams = new WeakMap<Uint8Array, JsonWebKey>();

/** The certificate's public key as JWK members (RFC 7517 §4.7: they must match the `x5c` certificate). */
function certificateJwk(der: Uint8Array): JsonWebKey {
  let jwk = publicParams.get(der);
  if (!jwk) {
    jwk = new X509Certificate(der).publicKey.export({ format: "jwk" });
    publicParams.set(der, jwk);
  }
  return jwk;
}

/** `only` restricts the keys to one use (e.g. the Workload API's JWT bundles are `jwt-svid` only). */
export function bundleToDocument(bundle: TrustBundle, options: { only?: SvidUse } = {}): BundleDocument {
  const keys: BundleJwk[] = [];
  if (options.only !== "jwt-svid") {
    for (const der of bundle.x509Authorities) {
      // X509-SVID §6.1: `use` MUST be `x509-svid`, `kid` MUST NOT be set, `x5c` holds exactly one certificate.
      keys.push({ ...certificateJwk(der), use: "x509-svid", x5c: [Buffer.from(der).toString("base64")] });
    }
  }
  if (options.only !== "x509-svid") {
    for (const { kid, jwk } of bundle.jwtAuthorities) {
      // JWT-SVID §6.1: `use` MUST be `jwt-svid` and `kid` MUST be set.
      keys.push({ ...jwk, use: "jwt-svid", kid });
    }
  }
  const doc: BundleDocument = { keys, spiffe_sequence: bundle.sequence };
  if (bundle.refreshHint !== undefined) doc.spiffe_refresh_hint = bundle.refreshHint;
  return doc;
}

export function bundleToJson(bundle: TrustBundle, options: { only?: SvidUse; pretty?: boolean } = {}): string {
  return JSON.stringify(bundleToDocument(bundle, options), null, options.pretty ? 2 : undefined);
}
