/**
 * OAuth clients: registration, Client ID Metadata Documents, SPIFFE-backed clients, client auth.
 *
 * - `createClientRegistry({config, store, audit, ca, logger, …})` → `{registry, routes, stop}`:
 *   `registry` implements `ClientRegistry` (src/oauth/types.ts) plus `register/list/remove/sweep`;
 *   `routes` mounts `POST /oauth2/register` (RFC 7591, rate limited per remote address).
 * - `startMtlsListener({address, app, ca, tls?, logger})`: the X.509-SVID client-auth listener
 *   (`config.oauth.mtlsListen`), handing requests to the Elysia app with their CallerContext.
 * - `callerContextFor(request, server, attest?)` / `attachCallerContext(request, ctx)`: the
 *   CallerContext of a request (socket address, peer certificates, attested SPIFFE ID).
 * - `publicAddressesOnly`, `specialUseReason`: the SSRF policy for fetched client documents.
 * - `clientsDb`, `registrationResponse`: the stored records (for `sluice client`).
 * - `clientsAdminArea(remove)`: the "clients" operations for serve's admin socket (src/admin).
 */
export { createClientRegistry, type ClientRegistryOptions, type ClientRegistryHandle } from "./create.ts";
export { StoredClientRegistry, removeClient, type AuditSink } from "./registry.ts";
export { clientsAdminArea, type ClientAdminRequest, type RemovedClient } from "./admin-area.ts";
export { startMtlsListener, type MtlsListener, type MtlsListenerOptions } from "./mtls-listener.ts";
export { attachCallerContext, callerContextFor, type AttestPeer, type RequestIpSource } from "./caller-context.ts";
export { publicAddressesOnly, specialUseReason, type AddressPolicy } from "./address-policy.ts";
export { clientsDb, clientsBySpiffeDb, registrationResponse, toOAuthClient, type ClientRecord } from "./records.ts";
export { ASSERTION_TYPE_JWT_BEARER, ASSERTION_TYPE_JWT_SPIFFE } from "./authenticate.ts";
export { REGISTRATION_PATH } from "./register-route.ts";
export { CLIENT_LIMITS } from "./limits.ts";
