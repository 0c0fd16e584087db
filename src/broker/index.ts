/**
 * The credential broker (DESIGN.md §2 steps 6–9): agents never hold upstream credentials.
 *
 * - `startBroker({config, store, audit, policy, ca, verifier, resumer?, logger, fetch?, clock?})` →
 *   `{step, injector, routes, setResumer, revokeCredentials, refreshCount, settled, stop}`: the AuthorizationStep "upstream"
 *   (the double auth flow), the proxy's Injector, `GET /oauth2/upstream/callback`.
 * - Sources: `oauth2AuthorizationCode` (discovery, DCR, PKCE, resource, RFC 9207 iss, refresh with
 *   rotation, single flight), `oauth2ClientCredentials`, `static` (file or env), `jwtSVID`.
 * - Vault: upstream tokens sealed in `broker.credentials`, keyed by (source, user);
 *   `listVault(store)` (metadata only, read-only stores too), `revokeStoredCredentials(...)` (offline revoke).
 * - `credentialsAdminArea(revoke)`: the "credentials" operations for serve's admin socket (src/admin).
 */
export { startBroker, type Broker, type BrokerOptions, type PolicySource } from "./broker.ts";
export { revokeStoredCredentials, type RevokedCredential } from "./admin.ts";
export { credentialsAdminArea, isSpiffeId, type CredentialsAdminRequest } from "./admin-area.ts";
export { UPSTREAM_CALLBACK_PATH } from "./callback.ts";
export { BrokerError, type BrokerErrorCode } from "./errors.ts";
export { createUpstreamHttp, type FetchLike, type UpstreamHttp } from "./http.ts";
export { revokeUpstream } from "./sources/authorization-code.ts";
export { credentialsDb, listVault, Vault, type CredentialState, type UpstreamCredential, type VaultEntry } from "./vault.ts";
export { protectedResourceMetadataUrl } from "./discovery.ts";
export type { AuditSink } from "./audit.ts";
