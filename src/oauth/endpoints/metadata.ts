/**
 * RFC 8414 authorization server metadata and OpenID Connect Discovery 1.0 (the same document).
 * Served at `/.well-known/oauth-authorization-server{issuer path}` (RFC 8414 §3.1),
 * `/.well-known/openid-configuration{issuer path}` and `{issuer path}/.well-known/openid-configuration`
 * (OIDC Discovery §4; the MCP spec tries all three for an issuer with a path).
 */
import type { SluiceConfig } from "../../config/index.ts";
import { formatHostPort, parseHostPort } from "../../config/index.ts";
import { SIGNING_ALGS } from "../keys/signing-keys.ts";
import { endpointUrl, issuerParts, OAUTH_PATHS } from "./paths.ts";

export const SUPPORTED_SCOPES = ["openid", "profile", "offline_access"] as const;
export const GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"] as const;
export const CLIENT_AUTH_METHODS = ["none", "private_key_jwt", "spiffe_jwt", "spiffe_x509"] as const;

export function metadataPaths(issuer: string): { oauth: string[]; openid: string[] } {
  const { path } = issuerParts(issuer);
  return {
    oauth: [`/.well-known/oauth-authorization-server${path}`],
    openid: path === "" ? ["/.well-known/openid-configuration"] : [`/.well-known/openid-configuration${path}`, `${path}/.well-known/openid-configuration`],
  };
}

export function buildMetadata(config: Pick<SluiceConfig, "issuer" | "oauth">, extraScopes: readonly string[] = []): Record<string, unknown> {
  const issuer = config.issuer;
  const url = (p: string) => endpointUrl(issuer, p);
  const doc: Record<string, unknown> = {
    issuer,
    authorization_endpoint: url(OAUTH_PATHS.authorize),
    token_endpoint: url(OAUTH_PATHS.token),
    registration_endpoint: url(OAUTH_PATHS.register),
    introspection_endpoint: url(OAUTH_PATHS.introspect),
    revocation_endpoint: url(OAUTH_PATHS.revoke),
    userinfo_endpoint: url(OAUTH_PATHS.userinfo),
    jwks_uri: url(OAUTH_PATHS.jwks),
    scopes_supported: [...new Set([...SUPPORTED_SCOPES, ...extraScopes])],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: [...GRANT_TYPES],
    subject_types_supported: ["public"],
    // RFC 7636 / OAuth 2.1: S256 only; the MCP spec requires this field to be published.
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    // What ./clients accepts for private_key_jwt and JWT-SVID assertions (asymmetric only).
    token_endpoint_auth_signing_alg_values_supported: ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"],
    introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    id_token_signing_alg_values_supported: [...SIGNING_ALGS],
    // RFC 9207.
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: true,
    // RFC 8707 resource indicators.
    resource_parameter_supported: true,
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "name", "preferred_username"],
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  };
  if (config.oauth.mtlsListen) {
    // RFC 8705 §5: endpoints on the listener that asks for client certificates (X.509-SVID auth).
    const { host, port } = parseHostPort(config.oauth.mtlsListen, "oauth.mtlsListen");
    const issuerUrl = new URL(issuer);
    const mtlsHost = host === "0.0.0.0" || host === "::" ? issuerUrl.hostname : host;
    const mtlsBase = `https://${formatHostPort({ host: mtlsHost, port })}${issuerParts(issuer).path}`;
    doc.tls_client_certificate_bound_access_tokens = false;
    doc.mtls_endpoint_aliases = {
      token_endpoint: `${mtlsBase}${OAUTH_PATHS.token}`,
      introspection_endpoint: `${mtlsBase}${OAUTH_PATHS.introspect}`,
      revocation_endpoint: `${mtlsBase}${OAUTH_PATHS.revoke}`,
      registration_endpoint: `${mtlsBase}${OAUTH_PATHS.register}`,
    };
  }
  return doc;
}
