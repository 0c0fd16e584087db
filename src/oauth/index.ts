/**
 * The authorization server (DESIGN §2 steps 5–7, §5).
 *
 * Token side (this folder):
 * - `startOAuth(options)` → `{ routes, codes, verifier, resources, revoker, endpoints, tick, stop }`: RFC 8414 /
 *   OIDC metadata, JWKS with rotating ES256/RS256 keys, `/oauth2/token` (authorization_code + PKCE,
 *   refresh_token with rotation and reuse detection, client_credentials for SPIFFE workloads, RFC 8693
 *   token exchange), `/oauth2/introspect`, `/oauth2/revoke`, `/oauth2/userinfo`.
 * - `StoreTokenRevoker`: the `TokenRevoker` on a store alone (the CLI while serve is stopped).
 * - `RateLimiter`, `rateLimited`: a keyed token bucket for any AS endpoint (registration, login…).
 * - `readForm`/`parseForm`, `OAUTH_LIMITS`: form bodies with size/count/duplicate limits.
 * - `OAUTH_PATHS`, `endpointUrl`: where the endpoints live under the issuer.
 * - `CallerResolver`, `defaultCallerResolver`: how the routes learn who calls (socket address, what
 *   the mTLS listener attached; pass `callerOf` to `startOAuth` to add local attestation).
 * - The contract types between the AS parts (./types.ts).
 */
export { startOAuth, DEFAULT_OAUTH_RATE_LIMITS, type OAuthServer, type StartOAuthOptions, type OAuthRateLimits } from "./start.ts";
export { StoreTokenRevoker, type StoreTokenRevokerOptions } from "./tokens/user-revocation.ts";
export { RateLimiter, rateLimited, type RateDecision, type RateLimiterOptions } from "./rate-limit.ts";
export { readForm, parseForm } from "./http/form.ts";
export { OAUTH_LIMITS } from "./http/limits.ts";
export { OAUTH_PATHS, endpointUrl } from "./endpoints/paths.ts";
export { buildMetadata } from "./endpoints/metadata.ts";
export { defaultCallerResolver, type CallerResolver, type TokenSideEndpoints } from "./routes.ts";
export * from "./types.ts";
export { createClientRegistry, startMtlsListener, callerContextFor, attachCallerContext, type ClientRegistryHandle, type ClientRegistryOptions, type MtlsListener, type AttestPeer } from "./clients/index.ts";
