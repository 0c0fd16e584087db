/**
 * SPIFFE: sluice as the CA of its trust domain.
 *
 * - `openTrustDomainCA(options)` → `TrustDomainCA`: root (or operator intermediate) and JWT keys
 *   sealed in the store, rotated with overlap; `issueX509Svid`, `issueJwtSvid`, `bundle()`,
 *   `bundles` (own + federated, `onBundleChange`), `rotateNow`, `tick`, `authorities`, `close`.
 *   `readPublishedBundle(store, td)`: the last published bundle, from a read-only store.
 * - `verifyX509Svid(chain, bundles, {now?})`, `verifyJwtSvid(token, bundles, {audience, now?})`:
 *   every MUST of the X509-SVID and JWT-SVID specs; failures are `SvidError` with `code` and `rule`.
 * - Bundles: `BundleSet`, `parseBundle`/`bundleToJson` (SPIFFE bundle JSON), `bundleRoutes(ca)`
 *   (`GET /.well-known/spiffe-bundle`), `FederatedBundles` (file or https endpoint, refresh hint).
 *
 * The Workload API (./workload-api) is a client of this interface, not part of it.
 */
export { openTrustDomainCA } from "./ca/ca.ts";
export { readPublishedBundle } from "./ca/published.ts";
export { CA_DEFAULTS, type CaAuditSink, type TrustDomainCAOptions } from "./ca/options.ts";
export type { IntermediateFiles } from "./ca/intermediate.ts";
export type { AuthorityInfo, JwtSvid, JwtSvidRequest, TrustDomainCA, X509Svid, X509SvidRequest } from "./ca/types.ts";
export type { KeyState } from "./ca/rotation.ts";

export { verifyX509Svid, MAX_CHAIN_LENGTH, type VerifiedX509Svid, type VerifyX509SvidOptions } from "./x509/verify.ts";
export { verifyJwtSvid, MAX_JWT_SVID_BYTES, type VerifiedJwtSvid, type VerifyJwtSvidOptions } from "./jwt/verify.ts";
export { JWT_SVID_ALGORITHMS } from "./jwt/algorithms.ts";
export { parseCertificate, type ParsedCertificate } from "./x509/parse.ts";

export { BundleSet, type BundleChangeListener } from "./bundle/set.ts";
export type { BundleSource, JsonWebKey, JwtAuthority, TrustBundle } from "./bundle/types.ts";
export { parseBundle, BUNDLE_LIMITS } from "./bundle/parse.ts";
export { bundleToDocument, bundleToJson, type BundleDocument, type BundleJwk, type SvidUse } from "./bundle/json.ts";
export { bundleRoutes, BUNDLE_PATH } from "./bundle/routes.ts";
export { FederatedBundles, type FederatedBundlesOptions, type FederationSource, type FederationStatus } from "./federation/federated.ts";

export { BundleError, CaError, DerError, FederationError, SvidError, type BundleRule, type CaErrorCode, type JwtSvidRule, type SvidKind, type X509SvidRule } from "./errors.ts";
