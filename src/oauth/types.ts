/**
 * The seams between the parts of the authorization server (DESIGN.md §2 steps 5–7, §5):
 *
 * - clients (./clients): registration (RFC 7591), Client ID Metadata Documents, SPIFFE-backed
 *   clients and client authentication → `ClientRegistry`.
 * - tokens (./tokens, ./endpoints): signing keys + JWKS, codes, access/refresh/id tokens, the token,
 *   introspection, revocation and userinfo endpoints, metadata → `AuthorizationCodes`,
 *   `AccessTokenVerifier`, `ResourceValidator`.
 * - users (../users): passkey login, sessions, consent and `/oauth2/authorize`, which issues codes
 *   through `AuthorizationCodes` after the `AuthorizationStep`s ran → `UserDirectory`,
 *   `AuthorizationResumer`.
 * - broker (../broker): an `AuthorizationStep` that runs the upstream flow between consent and
 *   code issuance (the double auth flow), resuming through `AuthorizationResumer`.
 *
 * Every part depends on these types, not on another part's files.
 */
import { SluiceError } from "../errors/index.ts";

/** RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 8707 §2, RFC 9700 and OIDC error codes. */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_response_type"
  | "unsupported_token_type"
  | "invalid_scope"
  | "invalid_target"
  | "invalid_token"
  | "insufficient_scope"
  | "access_denied"
  | "login_required"
  | "consent_required"
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  | "invalid_software_statement"
  | "invalid_dpop_proof"
  | "temporarily_unavailable"
  | "slow_down"
  | "server_error";

/**
 * An OAuth error in the RFC's JSON shape: `{"error": code, "error_description": description}`.
 * `status` is the HTTP status (400 unless the RFC says otherwise: 401 for invalid_client with
 * authentication attempted, 429 for rate limits). The description is for the client developer:
 * it names what was wrong, never a secret.
 */
export class OAuthError extends SluiceError {
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly description: string;
  /** Extra response headers, e.g. WWW-Authenticate or Retry-After. */
  readonly headers: Readonly<Record<string, string>>;
  constructor(error: OAuthErrorCode, description: string, options: { status?: number; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(`ERR_OAUTH_${error.toUpperCase()}`, description, options.cause === undefined ? undefined : { cause: options.cause });
    this.error = error;
    this.description = description;
    this.status = options.status ?? (error === "invalid_client" ? 401 : error === "slow_down" || error === "temporarily_unavailable" ? 429 : error === "server_error" ? 500 : 400);
    this.headers = options.headers ?? {};
  }
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export type GrantType =
  | "authorization_code"
  | "refresh_token"
  | "client_credentials"
  | "urn:ietf:params:oauth:grant-type:token-exchange";

/** `none` = public client (PKCE only); spiffe_* = draft-ietf-oauth-spiffe-client-auth. */
export type ClientAuthMethod = "none" | "private_key_jwt" | "spiffe_jwt" | "spiffe_x509";

/** A registered client as the rest of the AS sees it (registration stores more). */
export interface OAuthClient {
  readonly clientId: string;
  readonly clientName?: string;
  /** Exact strings; loopback http redirect URIs match with any port (RFC 8252 §7.3). */
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly GrantType[];
  readonly responseTypes: readonly "code"[];
  readonly tokenEndpointAuthMethod: ClientAuthMethod;
  readonly applicationType: "web" | "native";
  /** Space-separated scopes the client may ask for; undefined = any scope the AS knows. */
  readonly scope?: string;
  /**
   * The SPIFFE ID the client is bound to (exact, or a prefix ending in `/*`): set by SPIFFE-backed
   * registration, by local attestation, or by the client's metadata. Tokens issued to a bound
   * client have `sub` = the workload's SPIFFE ID.
   */
  readonly spiffeId?: string;
  /** How the client came to exist. */
  readonly origin: "dynamic" | "metadata-document" | "attested";
  /** Seconds since the epoch. */
  readonly createdAt: number;
}

/** What the HTTP layer knows about who is calling, besides the request itself. */
export interface CallerContext {
  /** Remote socket address as the listener saw it. */
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** DER certificates the client presented over mTLS, leaf first (only on the mTLS listener). */
  readonly peerCertificates?: readonly Uint8Array[];
  /**
   * The SPIFFE ID of the local process that opened the connection, when the host could attest it
   * (a loopback connection from a managed workload). Never taken from the request itself.
   */
  readonly attestedSpiffeId?: string;
}

export interface ClientAuthInput {
  /** The form parameters of the token / introspection / revocation request. */
  readonly params: URLSearchParams;
  readonly headers: Headers;
  readonly caller: CallerContext;
  /** The endpoint URL the assertion's `aud` may name (besides the issuer). */
  readonly endpoint: string;
}

export interface AuthenticatedClient {
  readonly client: OAuthClient;
  readonly method: ClientAuthMethod;
  /** The SPIFFE ID proven by this request (JWT-SVID `sub`, X.509-SVID URI SAN or attestation). */
  readonly spiffeId?: string;
}

export interface ClientRegistry {
  /** A registered client, or a Client ID Metadata Document fetched for an https client_id. Throws OAuthError on a bad document. */
  get(clientId: string): Promise<OAuthClient | undefined>;
  /** RFC 6749 §2.3 / RFC 7523 / SPIFFE client auth. Throws OAuthError("invalid_client") on failure. */
  authenticate(input: ClientAuthInput): Promise<AuthenticatedClient>;
  /** Exact match (RFC 9700 §2.1); loopback http may differ in port only (RFC 8252 §7.3). */
  redirectUriAllowed(client: OAuthClient, redirectUri: string): boolean;
  /** Records use (unused clients expire after `oauth.clientIdleExpiry`). */
  touch(clientId: string): void;
}

/** What the authorize step hands to the token side when it issues a code. */
export interface CodeGrant {
  readonly clientId: string;
  readonly redirectUri: string;
  /** PKCE S256 (RFC 7636 §4.2); plain is refused before this point. */
  readonly codeChallenge: string;
  readonly scopes: readonly string[];
  /** RFC 8707 resources (absolute URIs); become the access token's `aud`. */
  readonly resources: readonly string[];
  /** Token `sub`: the client's workload SPIFFE ID when bound, else the user's SPIFFE ID. */
  readonly subject: string;
  /** Token `act.sub` when the subject is a workload acting for a user. */
  readonly actor?: string;
  /** The user who consented. */
  readonly user: { readonly name: string; readonly spiffeId: string };
  /** Seconds since the epoch of the passkey login. */
  readonly authTime: number;
  readonly nonce?: string;
}

export interface AuthorizationCodes {
  /** Stores the grant under a fresh code (only its hash is kept) and returns the code. */
  issue(grant: CodeGrant): Promise<string>;
}

/** RFC 8707: which `resource` values this AS issues tokens for. */
export interface ResourceValidator {
  /** Throws OAuthError("invalid_target") naming why; returns the canonical URI otherwise. */
  validate(resource: string): string;
}

/** Verified claims of a sluice access token (RFC 9068). */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly client_id: string;
  readonly scope?: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly act?: { readonly sub: string; readonly act?: unknown };
  readonly [claim: string]: unknown;
}

export interface AccessTokenVerifier {
  /** Signature, `typ: at+jwt`, `iss`, `exp`, `aud` (when given), not revoked. Throws OAuthError("invalid_token"). Cached by token hash until expiry. */
  verify(token: string, options?: { audience?: string }): Promise<AccessTokenClaims>;
}

export interface UserRecord {
  readonly name: string;
  readonly spiffeId: string;
  readonly displayName?: string;
  readonly admin: boolean;
}

export interface UserDirectory {
  get(name: string): UserRecord | undefined;
  bySpiffeId(spiffeId: string): UserRecord | undefined;
}

/** An authorization request after login and consent, before a code exists. */
export interface PendingAuthorization {
  /** Opaque, unguessable; the handle a step resumes with. */
  readonly id: string;
  readonly client: OAuthClient;
  readonly user: UserRecord;
  /** The workload SPIFFE ID the client is bound to, if any. */
  readonly workload?: string;
  readonly resources: readonly string[];
  readonly scopes: readonly string[];
  readonly redirectUri: string;
  readonly state?: string;
  /** Seconds since the epoch after which the pending authorization is gone. */
  readonly expiresAt: number;
}

export type StepOutcome =
  | { readonly kind: "proceed" }
  /** Send the browser elsewhere (e.g. the upstream AS); the step later calls `AuthorizationResumer.resume`. */
  | { readonly kind: "redirect"; readonly location: string }
  /** Stop with an error page for the user and an error redirect to the client. */
  | { readonly kind: "deny"; readonly error: "access_denied" | "server_error" | "temporarily_unavailable"; readonly description: string };

/** Runs between consent and code issuance (the seam the broker plugs into). */
export interface AuthorizationStep {
  readonly name: string;
  beforeCode(pending: PendingAuthorization): Promise<StepOutcome>;
}

export interface AuthorizationResumer {
  /** Looks up a pending authorization (undefined when unknown or expired). */
  pending(id: string): PendingAuthorization | undefined;
  /** Continues after a step's redirect came back: runs the remaining steps, issues the code, and answers the browser (redirect to the client). */
  resume(id: string): Promise<Response>;
  /** Ends it with an error: an error page, and an RFC 6749 §4.1.2.1 redirect (with `iss`) where safe. */
  fail(id: string, error: "access_denied" | "server_error" | "temporarily_unavailable", description: string): Promise<Response>;
  /**
   * The user whose live sluice login session the request's cookies carry (undefined: none, ended,
   * or the account is gone). A step's callback compares it with `pending(id).user` before acting on
   * the browser's answer, so the answer is bound to the user agent that started the authorization
   * (RFC 9700 §2.1, §4.7).
   */
  sessionUser(request: Request): UserRecord | undefined;
}

/**
 * Revokes what the token side issued on a user's behalf, for the users part: removing a user, or a
 * user withdrawing a consent, takes effect on tokens already issued (refresh families, their live
 * access tokens, codes not yet redeemed). Works on the store alone, so the CLI can use it while
 * `sluice serve` is stopped. Each call appends an `oauth.token.revoke` audit record.
 */
export interface TokenRevoker {
  /**
   * Everything issued with the user as subject, `act.sub` or consenting user: refresh families,
   * codes, and every access token minted up to now (denied until it expires). Returns the number
   * of refresh-token families revoked.
   */
  revokeForUser(userSpiffeId: string): Promise<number>;
  /** The refresh families (and unredeemed codes) of exactly this consent. Returns the families revoked. */
  revokeForConsent(clientId: string, userSpiffeId: string, resources: readonly string[], scopes: readonly string[]): Promise<number>;
}
