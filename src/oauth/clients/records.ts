/** How registered clients are kept in LMDB (`oauth.clients`, plus an index by bound SPIFFE ID). */
import { defineDatabase } from "../../store/index.ts";
import type { OAuthClient } from "../types.ts";

/** A public JWK set (RFC 7517) as registered for private_key_jwt. */
export interface JwkSet {
  readonly keys: readonly Record<string, unknown>[];
}

/** What registration stores: the client as the AS sees it, the metadata it echoes, and use times. */
export interface ClientRecord extends OAuthClient {
  readonly jwks?: JwkSet;
  readonly jwksUri?: string;
  readonly clientUri?: string;
  readonly logoUri?: string;
  readonly contacts?: readonly string[];
  readonly softwareId?: string;
  readonly softwareVersion?: string;
  /** Seconds since the epoch. */
  readonly lastUsedAt: number;
  /** Who registered it: remote address and the SPIFFE ID proven at registration, for audit and `client list`. */
  readonly registeredBy?: { readonly remoteAddress?: string; readonly spiffeId?: string; readonly proof?: "attested" | "jwt-svid" | "x509-svid" };
}

export const clientsDb = defineDatabase<string, ClientRecord>({ name: "oauth.clients" });
/** Key `[spiffeId, clientId]` → true, for clients bound to an exact SPIFFE ID (draft: `client_id` may be the SPIFFE ID). */
export const clientsBySpiffeDb = defineDatabase<[string, string], true>({ name: "oauth.clients.by-spiffe" });

export function toOAuthClient(r: ClientRecord): OAuthClient {
  return Object.freeze({
    clientId: r.clientId,
    ...(r.clientName === undefined ? {} : { clientName: r.clientName }),
    redirectUris: Object.freeze([...r.redirectUris]),
    grantTypes: Object.freeze([...r.grantTypes]),
    responseTypes: Object.freeze([...r.responseTypes]),
    tokenEndpointAuthMethod: r.tokenEndpointAuthMethod,
    applicationType: r.applicationType,
    ...(r.scope === undefined ? {} : { scope: r.scope }),
    ...(r.spiffeId === undefined ? {} : { spiffeId: r.spiffeId }),
    origin: r.origin,
    createdAt: r.createdAt,
  });
}

/** RFC 7591 §3.2.1: the registered metadata, as returned to the client (and by `sluice client list --json`). */
export function registrationResponse(r: ClientRecord): Record<string, unknown> {
  return {
    client_id: r.clientId,
    client_id_issued_at: r.createdAt,
    ...(r.clientName === undefined ? {} : { client_name: r.clientName }),
    redirect_uris: r.redirectUris,
    grant_types: r.grantTypes,
    response_types: r.responseTypes,
    token_endpoint_auth_method: r.tokenEndpointAuthMethod,
    application_type: r.applicationType,
    ...(r.scope === undefined ? {} : { scope: r.scope }),
    ...(r.spiffeId === undefined ? {} : { spiffe_id: r.spiffeId }),
    ...(r.jwks === undefined ? {} : { jwks: r.jwks }),
    ...(r.jwksUri === undefined ? {} : { jwks_uri: r.jwksUri }),
    ...(r.clientUri === undefined ? {} : { client_uri: r.clientUri }),
    ...(r.logoUri === undefined ? {} : { logo_uri: r.logoUri }),
    ...(r.contacts === undefined ? {} : { contacts: r.contacts }),
    ...(r.softwareId === undefined ? {} : { software_id: r.softwareId }),
    ...(r.softwareVersion === undefined ? {} : { software_version: r.softwareVersion }),
  };
}
