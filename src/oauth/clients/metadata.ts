/**
 * RFC 7591 §2 client metadata validation, shared by dynamic registration and Client ID Metadata
 * Documents. Each problem is an OAuthError naming the field (`invalid_redirect_uri` or
 * `invalid_client_metadata`, RFC 7591 §3.2.2). Unknown fields are ignored (RFC 7591 §2: "MUST
 * ignore any client metadata sent by the client that it does not understand").
 */
import type { BundleSource } from "../../spiffe/index.ts";
import { OAuthError, type ClientAuthMethod, type GrantType } from "../types.ts";
import { CLIENT_LIMITS } from "./limits.ts";
import type { JwkSet } from "./records.ts";
import { checkRedirectUri } from "./redirect-uri.ts";
import { parseSpiffeBinding } from "./spiffe-binding.ts";

export interface ValidatedMetadata {
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly GrantType[];
  readonly responseTypes: readonly "code"[];
  readonly tokenEndpointAuthMethod: ClientAuthMethod;
  /** The client asked for a method sluice does not have (a client secret) and got `none` instead (RFC 7591 §3.2.1 allows replacing values). */
  readonly replacedAuthMethod?: string;
  readonly applicationType: "web" | "native";
  readonly clientName?: string;
  readonly scope?: string;
  readonly spiffeId?: string;
  readonly jwks?: JwkSet;
  readonly jwksUri?: string;
  readonly clientUri?: string;
  readonly logoUri?: string;
  readonly contacts?: readonly string[];
  readonly softwareId?: string;
  readonly softwareVersion?: string;
  readonly softwareStatement?: string;
}

const GRANT_TYPES: readonly GrantType[] = ["authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"];
const AUTH_METHODS: readonly ClientAuthMethod[] = ["none", "private_key_jwt", "spiffe_jwt", "spiffe_x509"];
const SECRET_METHODS = new Set(["client_secret_basic", "client_secret_post", "client_secret_jwt"]);
// RFC 6749 §3.3: scope-token = 1*NQCHAR.
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;

/** `attested`: the registering process was attested (then a public client may use client_credentials: each token request is attested again). */
export function validateMetadata(input: Record<string, unknown>, bundles: BundleSource, options: { attested?: boolean } = {}): ValidatedMetadata {
  const applicationType = oneOf(input.application_type, "application_type", ["web", "native"] as const) ?? "web";
  const tokenEndpointAuthMethod = authMethod(input.token_endpoint_auth_method);
  const grantTypes = list(input.grant_types, "grant_types", 4, (v) => oneOfRequired(v, "grant_types", GRANT_TYPES)) ?? ["authorization_code"];
  const responseTypes = list(input.response_types, "response_types", 1, (v) => oneOfRequired(v, "response_types", ["code"] as const)) ?? (grantTypes.includes("authorization_code") ? ["code"] : []);

  // RFC 7591 §2.1: grant_types and response_types must be consistent.
  if (grantTypes.includes("authorization_code") !== responseTypes.includes("code"))
    throw bad(`grant_types ${JSON.stringify(grantTypes)} and response_types ${JSON.stringify(responseTypes)} are inconsistent: authorization_code goes with the code response type (RFC 7591 §2.1)`);
  if (grantTypes.includes("refresh_token") && grantTypes.length === 1) throw bad("grant_types: refresh_token alone issues nothing; add the grant that obtains the first token");

  const redirect = list(input.redirect_uris, "redirect_uris", CLIENT_LIMITS.maxRedirectUris, (v) => {
    checkRedirectUri(v, applicationType);
    return v as string;
  });
  const redirectUris = redirect ?? [];
  // RFC 7591 §2: redirect URIs are required for redirect-based flows.
  if (grantTypes.includes("authorization_code") && redirectUris.length === 0) throw new OAuthError("invalid_redirect_uri", "redirect_uris: at least one is required for the authorization_code grant");

  const jwks = input.jwks === undefined ? undefined : jwkSet(input.jwks);
  const jwksUri = input.jwks_uri === undefined ? undefined : httpsUri(input.jwks_uri, "jwks_uri");
  // RFC 7591 §2: jwks_uri and jwks MUST NOT both be present.
  if (jwks && jwksUri) throw bad("jwks and jwks_uri must not both be present (RFC 7591 §2)");
  if (tokenEndpointAuthMethod.method === "private_key_jwt" && !jwks && !jwksUri) throw bad("token_endpoint_auth_method private_key_jwt needs jwks or jwks_uri");
  if (tokenEndpointAuthMethod.method !== "private_key_jwt" && (jwks || jwksUri)) throw bad(`jwks/jwks_uri are only used with private_key_jwt, not ${tokenEndpointAuthMethod.method}`);
  // RFC 6749 §4.4: client_credentials only for clients that authenticate.
  if (grantTypes.includes("client_credentials") && tokenEndpointAuthMethod.method === "none" && !options.attested)
    throw bad("grant_types: client_credentials needs client authentication (private_key_jwt, spiffe_jwt or spiffe_x509), not none (RFC 6749 §4.4)");

  const spiffeId = input.spiffe_id === undefined ? undefined : parseSpiffeBinding(input.spiffe_id, bundles).text;
  const scope = optionalString(input.scope, "scope", CLIENT_LIMITS.maxScopeLength);
  if (scope !== undefined && !SCOPE.test(scope)) throw bad("scope must be space-separated scope tokens (RFC 6749 §3.3)");

  return {
    redirectUris,
    grantTypes,
    responseTypes,
    tokenEndpointAuthMethod: tokenEndpointAuthMethod.method,
    ...(tokenEndpointAuthMethod.replaced ? { replacedAuthMethod: tokenEndpointAuthMethod.replaced } : {}),
    applicationType,
    ...defined("clientName", optionalString(input.client_name, "client_name", CLIENT_LIMITS.maxStringLength)),
    ...defined("scope", scope),
    ...defined("spiffeId", spiffeId),
    ...defined("jwks", jwks),
    ...defined("jwksUri", jwksUri),
    ...defined("clientUri", input.client_uri === undefined ? undefined : httpsUri(input.client_uri, "client_uri")),
    ...defined("logoUri", input.logo_uri === undefined ? undefined : httpsUri(input.logo_uri, "logo_uri")),
    ...defined("contacts", list(input.contacts, "contacts", CLIENT_LIMITS.maxContacts, (v) => requiredString(v, "contacts", CLIENT_LIMITS.maxStringLength))),
    ...defined("softwareId", optionalString(input.software_id, "software_id", CLIENT_LIMITS.maxStringLength)),
    ...defined("softwareVersion", optionalString(input.software_version, "software_version", CLIENT_LIMITS.maxStringLength)),
    ...defined("softwareStatement", optionalString(input.software_statement, "software_statement", 16 * 1024)),
  };
}

function authMethod(value: unknown): { method: ClientAuthMethod; replaced?: string } {
  // RFC 7591 §2 defaults to client_secret_basic; sluice issues no secrets, so public (PKCE) is the default.
  if (value === undefined) return { method: "none" };
  if (typeof value === "string" && SECRET_METHODS.has(value)) return { method: "none", replaced: value };
  return { method: oneOfRequired(value, "token_endpoint_auth_method", AUTH_METHODS) };
}

function jwkSet(value: unknown): JwkSet {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("jwks must be a JWK Set object {\"keys\": [...]}");
  if (JSON.stringify(value).length > CLIENT_LIMITS.maxJwksBytes) throw bad(`jwks is larger than ${CLIENT_LIMITS.maxJwksBytes} bytes`);
  return parseJwkSet(value, "jwks");
}

/** A public JWK Set: `keys` array of objects with `kty`, no private members. Used for fetched jwks_uri too. */
export function parseJwkSet(value: unknown, field: string): JwkSet {
  const keys = (value as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw bad(`${field}: "keys" must be a non-empty array`);
  if (keys.length > CLIENT_LIMITS.maxJwksKeys) throw bad(`${field}: at most ${CLIENT_LIMITS.maxJwksKeys} keys`);
  for (const key of keys) {
    if (typeof key !== "object" || key === null || Array.isArray(key) || typeof (key as { kty?: unknown }).kty !== "string") throw bad(`${field}: every key must be a JWK object with kty`);
    // A private key in client metadata is a leak, and never what verification needs.
    for (const member of ["d", "p", "q", "dp", "dq", "qi", "k"]) if (member in key) throw bad(`${field}: keys must be public (found private member "${member}")`);
  }
  return { keys: keys as Record<string, unknown>[] };
}

function httpsUri(value: unknown, field: string): string {
  const text = requiredString(value, field, CLIENT_LIMITS.maxUriLength);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad(`${field} is not an absolute URI`);
  }
  if (url.protocol !== "https:") throw bad(`${field} must be an https URI`);
  if (text.includes("#") || url.username || url.password) throw bad(`${field} must not have a fragment or user info`);
  return text;
}

function list<T>(value: unknown, field: string, max: number, each: (v: unknown) => T): T[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw bad(`${field} must be an array`);
  if (value.length > max) throw new OAuthError(field === "redirect_uris" ? "invalid_redirect_uri" : "invalid_client_metadata", `${field}: at most ${max} entries`);
  const out = value.map(each);
  if (new Set(out.map((v) => JSON.stringify(v))).size !== out.length) throw bad(`${field} has duplicate entries`);
  return out;
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T | undefined {
  return value === undefined ? undefined : oneOfRequired(value, field, allowed);
}

function oneOfRequired<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw bad(`${field}: ${JSON.stringify(typeof value === "string" ? value.slice(0, 80) : value)} is not supported; use one of ${allowed.join(", ")}`);
}

function optionalString(value: unknown, field: string, max: number): string | undefined {
  return value === undefined ? undefined : requiredString(value, field, max);
}

function requiredString(value: unknown, field: string, max: number): string {
  if (typeof value !== "string" || value === "") throw bad(`${field} must be a non-empty string`);
  if (value.length > max) throw bad(`${field} is longer than ${max} characters`);
  // Control characters end up in consent pages and logs.
  if (/[\u0000-\u001f\u007f]/.test(value)) throw bad(`${field} contains control characters`);
  return value;
}

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function bad(description: string): OAuthError {
  return new OAuthError("invalid_client_metadata", description);
}
