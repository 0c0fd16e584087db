/**
 * The checks of an authorization request (RFC 6749 §4.1.1, RFC 7636, RFC 8707, RFC 9700), in
 * order, one function each (like oidc-provider's actions/authorization). The first two decide
 * whether the client can be trusted with a redirect at all; until both pass, every error is shown
 * to the user and never redirected (RFC 6749 §4.1.2.1).
 */
import { OAuthError, type ClientRegistry, type OAuthClient, type ResourceValidator } from "../../oauth/types.ts";

export const AUTHORIZE_LIMITS = { maxResources: 8, maxScopes: 32, maxScopeLength: 128, maxStateLength: 1024, maxNonceLength: 512, maxClientIdLength: 2048, maxRedirectUriLength: 2048 } as const;

export interface AuthorizationRequest {
  readonly client: OAuthClient;
  readonly redirectUri: string;
  readonly state?: string;
  readonly nonce?: string;
  readonly codeChallenge: string;
  readonly resources: readonly string[];
  readonly scopes: readonly string[];
  /** OIDC `prompt=none`: answer login_required / consent_required instead of showing a page. */
  readonly promptNone: boolean;
}

/** Shown to the user as an error page; never redirected. */
export class UnsafeRequestError extends OAuthError {}

/** Sent back to the (verified) redirect URI as an error response. */
export class RedirectableError extends OAuthError {
  constructor(
    error: OAuthError,
    readonly redirectUri: string,
    readonly state: string | undefined,
  ) {
    super(error.error, error.description);
  }
}

export interface RequestChecks {
  readonly clients: ClientRegistry;
  readonly resources: ResourceValidator;
}

export async function validateAuthorizationRequest(params: URLSearchParams, deps: RequestChecks): Promise<AuthorizationRequest> {
  const client = await checkClient(params, deps.clients);
  const redirectUri = checkRedirectUri(params, client, deps.clients);
  const state = params.get("state") ?? undefined;
  const fail = (err: OAuthError) => new RedirectableError(err, redirectUri, state !== undefined && state.length <= AUTHORIZE_LIMITS.maxStateLength ? state : undefined);
  try {
    checkState(state);
    checkResponseType(params, client);
    const codeChallenge = checkPkce(params);
    const resources = checkResources(params, deps.resources);
    const scopes = checkScopes(params, client);
    const nonce = checkNonce(params);
    const promptNone = checkPrompt(params);
    return { client, redirectUri, ...(state !== undefined ? { state } : {}), ...(nonce !== undefined ? { nonce } : {}), codeChallenge, resources, scopes, promptNone };
  } catch (err) {
    if (err instanceof OAuthError) throw fail(err);
    throw err;
  }
}

async function checkClient(params: URLSearchParams, clients: ClientRegistry): Promise<OAuthClient> {
  const clientId = params.get("client_id");
  if (!clientId) throw new UnsafeRequestError("invalid_request", "the request has no client_id");
  if (clientId.length > AUTHORIZE_LIMITS.maxClientIdLength) throw new UnsafeRequestError("invalid_request", "client_id is too long");
  let client: OAuthClient | undefined;
  try {
    client = await clients.get(clientId);
  } catch (err) {
    if (err instanceof OAuthError) throw new UnsafeRequestError("invalid_client", `client ${clientId} cannot be used: ${err.description}`);
    throw err;
  }
  if (!client) throw new UnsafeRequestError("invalid_client", `no client ${clientId} is registered here (it may have expired after not being used)`);
  return client;
}

/** RFC 9700 §2.1 / RFC 6749 §3.1.2.3: exact match; optional only when exactly one is registered. */
function checkRedirectUri(params: URLSearchParams, client: OAuthClient, clients: ClientRegistry): string {
  const given = params.get("redirect_uri");
  if (given === null) {
    if (client.redirectUris.length === 1) return client.redirectUris[0]!;
    throw new UnsafeRequestError("invalid_request", "redirect_uri is required (the client has more than one registered)");
  }
  if (given.length > AUTHORIZE_LIMITS.maxRedirectUriLength || !clients.redirectUriAllowed(client, given)) {
    throw new UnsafeRequestError("invalid_request", "redirect_uri does not match any redirect URI registered for this client, so sluice will not send you there");
  }
  return given;
}

function checkState(state: string | undefined): void {
  if (state !== undefined && state.length > AUTHORIZE_LIMITS.maxStateLength) throw new OAuthError("invalid_request", `state is longer than ${AUTHORIZE_LIMITS.maxStateLength} characters`);
}

function checkResponseType(params: URLSearchParams, client: OAuthClient): void {
  const type = params.get("response_type");
  if (type === null) throw new OAuthError("invalid_request", "response_type is required");
  if (type !== "code") throw new OAuthError("unsupported_response_type", `response_type ${JSON.stringify(type.slice(0, 40))} is not supported: only "code" (OAuth 2.1)`);
  if (!client.responseTypes.includes("code") || !client.grantTypes.includes("authorization_code")) throw new OAuthError("unauthorized_client", "this client is not registered for the authorization_code grant");
  const mode = params.get("response_mode");
  if (mode !== null && mode !== "query") throw new OAuthError("invalid_request", `response_mode ${JSON.stringify(mode.slice(0, 40))} is not supported: only query`);
}

/** RFC 7636 §4.3 and OAuth 2.1 §4.1.1: a challenge is required and must be S256 (a missing method means plain, which is refused). */
function checkPkce(params: URLSearchParams): string {
  const challenge = params.get("code_challenge");
  const method = params.get("code_challenge_method");
  if (challenge === null) throw new OAuthError("invalid_request", "code_challenge is required (PKCE with S256, RFC 7636)");
  if (method !== "S256") throw new OAuthError("invalid_request", `code_challenge_method must be S256${method === null ? " (absent means plain, which is refused)" : `, not ${JSON.stringify(method.slice(0, 20))}`}`);
  // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters.
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) throw new OAuthError("invalid_request", "code_challenge is not a base64url SHA-256 value (43 characters)");
  return challenge;
}

/** RFC 8707 §2; the MCP authorization spec requires `resource`. */
function checkResources(params: URLSearchParams, validator: ResourceValidator): string[] {
  const given = params.getAll("resource");
  if (given.length === 0) throw new OAuthError("invalid_target", "resource is required: the URI of the MCP server or API the token is for (RFC 8707)");
  if (given.length > AUTHORIZE_LIMITS.maxResources) throw new OAuthError("invalid_target", `at most ${AUTHORIZE_LIMITS.maxResources} resource parameters`);
  const out: string[] = [];
  for (const r of given) {
    const canonical = validator.validate(r);
    if (!out.includes(canonical)) out.push(canonical);
  }
  return out;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/; // RFC 6749 §3.3

function checkScopes(params: URLSearchParams, client: OAuthClient): string[] {
  const raw = params.get("scope");
  if (raw === null || raw.trim() === "") return [];
  const scopes = [...new Set(raw.split(" ").filter(Boolean))];
  if (scopes.length > AUTHORIZE_LIMITS.maxScopes) throw new OAuthError("invalid_scope", `at most ${AUTHORIZE_LIMITS.maxScopes} scopes`);
  for (const s of scopes) {
    if (s.length > AUTHORIZE_LIMITS.maxScopeLength || !SCOPE_TOKEN.test(s)) throw new OAuthError("invalid_scope", `scope ${JSON.stringify(s.slice(0, 40))} is not a valid scope token (RFC 6749 §3.3)`);
  }
  if (client.scope !== undefined) {
    const allowed = new Set(client.scope.split(" "));
    const extra = scopes.filter((s) => !allowed.has(s));
    if (extra.length) throw new OAuthError("invalid_scope", `this client may not ask for ${extra.slice(0, 5).join(", ")}`);
  }
  return scopes;
}

function checkNonce(params: URLSearchParams): string | undefined {
  const nonce = params.get("nonce");
  if (nonce === null) return undefined;
  if (nonce.length > AUTHORIZE_LIMITS.maxNonceLength) throw new OAuthError("invalid_request", `nonce is longer than ${AUTHORIZE_LIMITS.maxNonceLength} characters`);
  return nonce;
}

function checkPrompt(params: URLSearchParams): boolean {
  const prompt = params.get("prompt");
  if (prompt === null) return false;
  const values = prompt.split(" ").filter(Boolean);
  if (values.includes("none") && values.length > 1) throw new OAuthError("invalid_request", "prompt=none cannot be combined with other values");
  return values.includes("none");
}
