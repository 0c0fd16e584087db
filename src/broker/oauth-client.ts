/**
 * The broker as an OAuth client of an upstream AS: dynamic registration (RFC 7591), the
 * authorization request with PKCE S256 and `resource` (RFC 7636, RFC 8707), code exchange,
 * refresh, client credentials and revocation (RFC 7009).
 */
import { createHash, randomBytes } from "node:crypto";
import type { UpstreamServer } from "./discovery.ts";
import { BrokerError } from "./errors.ts";
import type { UpstreamHttp } from "./http.ts";

export type ClientAuth = "client_secret_basic" | "client_secret_post" | "none";

export interface UpstreamClient {
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly authMethod: ClientAuth;
}

export interface TokenSet {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly refreshToken?: string;
  /** Seconds from the response (`expires_in`); the caller turns it into an expiry on its clock. */
  readonly expiresIn?: number;
  readonly scope?: string;
}

const MAX_TOKEN_CHARS = 16 * 1024;

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

export function pkceChallenge(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

export async function registerClient(http: UpstreamHttp, server: UpstreamServer, redirectUri: string, clientName: string): Promise<UpstreamClient> {
  if (!server.registrationEndpoint) {
    throw new BrokerError("ERR_BROKER_CONFIG", `${server.issuer ?? server.tokenEndpoint} offers no dynamic registration; set clientID (and clientSecretFrom) in the CredentialSource`);
  }
  const authMethod: ClientAuth = server.authMethods.includes("client_secret_basic")
    ? "client_secret_basic"
    : server.authMethods.includes("client_secret_post")
      ? "client_secret_post"
      : "none";
  const { status, body } = await http.postJson(server.registrationEndpoint, {
    client_name: clientName,
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: authMethod,
  });
  if (status !== 201 && status !== 200) throw upstreamError("registration", status, body);
  if (typeof body.client_id !== "string" || body.client_id.length === 0) {
    throw new BrokerError("ERR_BROKER_UPSTREAM", `registration at ${server.registrationEndpoint} returned no client_id`);
  }
  const secret = typeof body.client_secret === "string" ? body.client_secret : undefined;
  return { clientId: body.client_id, ...(secret ? { clientSecret: secret } : {}), authMethod: secret ? authMethod : "none" };
}

export function authorizationUrl(
  server: UpstreamServer,
  client: UpstreamClient,
  p: { redirectUri: string; state: string; codeVerifier: string; resource: string; scopes: readonly string[] },
): string {
  const u = new URL(server.authorizationEndpoint);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("client_id", client.clientId);
  u.searchParams.set("redirect_uri", p.redirectUri);
  u.searchParams.set("state", p.state);
  u.searchParams.set("code_challenge", pkceChallenge(p.codeVerifier));
  u.searchParams.set("code_challenge_method", "S256");
  u.searchParams.set("resource", p.resource);
  if (p.scopes.length > 0) u.searchParams.set("scope", p.scopes.join(" "));
  return u.toString();
}

export async function exchangeCode(
  http: UpstreamHttp,
  server: UpstreamServer,
  client: UpstreamClient,
  p: { code: string; redirectUri: string; codeVerifier: string; resource: string },
): Promise<TokenSet> {
  const form = new URLSearchParams({ grant_type: "authorization_code", code: p.code, redirect_uri: p.redirectUri, code_verifier: p.codeVerifier, resource: p.resource });
  return tokenRequest(http, server.tokenEndpoint, client, form);
}

export async function refreshTokens(http: UpstreamHttp, tokenEndpoint: string, client: UpstreamClient, refreshToken: string, resource?: string): Promise<TokenSet> {
  const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken });
  if (resource) form.set("resource", resource);
  return tokenRequest(http, tokenEndpoint, client, form);
}

export async function clientCredentialsToken(
  http: UpstreamHttp,
  tokenEndpoint: string,
  client: UpstreamClient,
  p: { scopes: readonly string[]; audience?: string },
): Promise<TokenSet> {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (p.scopes.length > 0) form.set("scope", p.scopes.join(" "));
  // `audience` is what Auth0-style servers read; RFC 8707 servers read `resource`.
  if (p.audience) {
    form.set("audience", p.audience);
    if (/^https?:\/\//.test(p.audience)) form.set("resource", p.audience);
  }
  return tokenRequest(http, tokenEndpoint, client, form);
}

/** RFC 7009 §2.1; a 200 means revoked or unknown (both fine). */
export async function revokeToken(http: UpstreamHttp, endpoint: string, client: UpstreamClient, token: string, hint: "access_token" | "refresh_token"): Promise<void> {
  const form = new URLSearchParams({ token, token_type_hint: hint });
  const { status, body } = await http.postForm(endpoint, withClientAuth(form, client), basicOf(client));
  if (status !== 200) throw upstreamError("revocation", status, body);
}

async function tokenRequest(http: UpstreamHttp, endpoint: string, client: UpstreamClient, form: URLSearchParams): Promise<TokenSet> {
  const { status, body } = await http.postForm(endpoint, withClientAuth(form, client), basicOf(client));
  if (status !== 200) throw upstreamError("token", status, body);
  const accessToken = body.access_token;
  if (typeof accessToken !== "string" || accessToken.length === 0 || accessToken.length > MAX_TOKEN_CHARS) {
    throw new BrokerError("ERR_BROKER_UPSTREAM", `token response from ${new URL(endpoint).origin} has no usable access_token`);
  }
  const tokenType = typeof body.token_type === "string" ? body.token_type : "Bearer";
  // RFC 6750: only Bearer tokens can be put in an Authorization: Bearer header.
  if (tokenType.toLowerCase() !== "bearer") throw new BrokerError("ERR_BROKER_UPSTREAM", `token_type ${tokenType} is not supported (Bearer only)`);
  const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : undefined;
  const refresh = typeof body.refresh_token === "string" && body.refresh_token.length <= MAX_TOKEN_CHARS ? body.refresh_token : undefined;
  return {
    accessToken,
    tokenType: "Bearer",
    ...(refresh ? { refreshToken: refresh } : {}),
    ...(expiresIn ? { expiresIn } : {}),
    ...(typeof body.scope === "string" ? { scope: body.scope } : {}),
  };
}

function withClientAuth(form: URLSearchParams, client: UpstreamClient): URLSearchParams {
  if (client.authMethod === "client_secret_post") {
    form.set("client_id", client.clientId);
    form.set("client_secret", client.clientSecret ?? "");
  } else if (client.authMethod === "none") {
    form.set("client_id", client.clientId);
  }
  return form;
}

function basicOf(client: UpstreamClient): { user: string; password: string } | undefined {
  return client.authMethod === "client_secret_basic" ? { user: client.clientId, password: client.clientSecret ?? "" } : undefined;
}

function upstreamError(what: string, status: number, body: Record<string, unknown>): BrokerError {
  const code = typeof body.error === "string" ? body.error.slice(0, 64) : undefined;
  const desc = typeof body.error_description === "string" ? `: ${body.error_description.slice(0, 200)}` : "";
  return new BrokerError("ERR_BROKER_UPSTREAM", `upstream ${what} request failed with ${status}${code ? ` ${code}` : ""}${desc}`, code);
}
