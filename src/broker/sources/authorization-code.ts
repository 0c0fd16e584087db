/**
 * `oauth2AuthorizationCode`: sluice as an OAuth client of the MCP server's real AS. Finds the AS
 * (discovery or the source's endpoints), registers (or uses the configured client), builds the
 * authorization request, exchanges the code, and keeps the tokens fresh: refreshed `refreshAhead`
 * before expiry, one refresh in flight per credential; a refused refresh marks it failed.
 */
import type { CredentialSourceSpec } from "../../policy/index.ts";
import { discoverFromResource, type UpstreamServer } from "../discovery.ts";
import { BrokerError } from "../errors.ts";
import type { UpstreamFlow } from "../flows.ts";
import type { UpstreamHttp } from "../http.ts";
import { authorizationUrl, exchangeCode, randomToken, refreshTokens, registerClient, revokeToken, type UpstreamClient } from "../oauth-client.ts";
import type { Registrations } from "../registrations.ts";
import type { SecretReader } from "../secrets.ts";
import { SingleFlight } from "../single-flight.ts";
import type { OpenedCredential, Vault } from "../vault.ts";
import type { Logger } from "../../log/index.ts";

export type AuthorizationCodeSpec = Extract<CredentialSourceSpec, { type: "oauth2AuthorizationCode" }>;

export type UpstreamToken =
  | { readonly kind: "ok"; readonly token: string; readonly refreshed: boolean }
  | { readonly kind: "missing" }
  | { readonly kind: "failed"; readonly reason: string };

/** Upstream answers that mean the grant is dead (RFC 6749 §5.2): the user must authorize again. */
const DEAD_GRANT = new Set(["invalid_grant", "invalid_client", "unauthorized_client", "invalid_target", "invalid_scope"]);
const DISCOVERY_TTL_MS = 10 * 60_000;
/** Treat a token as expired this long before its stated expiry (clock skew, time on the wire). */
const EXPIRY_SKEW_MS = 5_000;

export interface AuthorizationCodeDeps {
  readonly http: UpstreamHttp;
  readonly vault: Vault;
  readonly registrations: Registrations;
  readonly secrets: SecretReader;
  readonly redirectUri: string;
  readonly refreshAheadMs: number;
  readonly clock: () => number;
  readonly logger: Logger;
}

export class AuthorizationCodeSource {
  readonly #discovered = new Map<string, { server: UpstreamServer; until: number }>();
  readonly #refreshes = new SingleFlight<UpstreamToken>();
  /** Upstream refreshes sent (for metrics and tests). */
  refreshCount = 0;

  constructor(private readonly d: AuthorizationCodeDeps) {}

  /** Usable without a browser step: active and either unexpired or refreshable. */
  usable(source: string, user: string): boolean {
    const c = this.d.vault.get(source, user);
    if (!c || c.state !== "active") return false;
    return c.credential.refreshToken !== undefined || !this.#expired(c);
  }

  async server(source: string, spec: AuthorizationCodeSpec, resource: string): Promise<UpstreamServer> {
    if (spec.authorizationEndpoint && spec.tokenEndpoint) {
      return {
        authorizationEndpoint: spec.authorizationEndpoint,
        tokenEndpoint: spec.tokenEndpoint,
        ...(spec.registrationEndpoint ? { registrationEndpoint: spec.registrationEndpoint } : {}),
        issParameterSupported: false,
        authMethods: ["client_secret_basic", "client_secret_post", "none"],
      };
    }
    const key = `${source}\n${resource}`;
    const hit = this.#discovered.get(key);
    if (hit && hit.until > this.d.clock()) return hit.server;
    const server = await discoverFromResource(this.d.http, resource);
    this.#discovered.set(key, { server, until: this.d.clock() + DISCOVERY_TTL_MS });
    return server;
  }

  async client(source: string, spec: AuthorizationCodeSpec, server: UpstreamServer): Promise<UpstreamClient> {
    if (spec.clientID) {
      if (!spec.clientSecretFrom) return { clientId: spec.clientID, authMethod: "none" };
      return { clientId: spec.clientID, clientSecret: this.d.secrets.read(spec.clientSecretFrom), authMethod: "client_secret_basic" };
    }
    const at = server.issuer ?? server.registrationEndpoint ?? server.tokenEndpoint;
    const known = this.d.registrations.get(source, at);
    if (known) return known;
    const client = await registerClient(this.d.http, server, this.d.redirectUri, `sluice (${source})`);
    await this.d.registrations.put(source, at, client);
    this.d.logger.info("registered at upstream authorization server", { source, issuer: at, clientId: client.clientId });
    return client;
  }

  /** The authorization request to send the browser to, and the flow to remember under `state`. */
  async begin(
    source: string,
    spec: AuthorizationCodeSpec,
    p: { pendingId: string; user: string; workload: string; service: string; resource: string; expiresAt: number },
  ): Promise<{ url: string; state: string; flow: UpstreamFlow }> {
    const server = await this.server(source, spec, p.resource);
    const client = await this.client(source, spec, server);
    const state = randomToken();
    const codeVerifier = randomToken();
    const url = authorizationUrl(server, client, { redirectUri: this.d.redirectUri, state, codeVerifier, resource: p.resource, scopes: spec.scopes });
    return { url, state, flow: { ...p, source, codeVerifier, server, client, redirectUri: this.d.redirectUri } };
  }

  async complete(flow: UpstreamFlow, code: string): Promise<void> {
    const set = await exchangeCode(this.d.http, flow.server, flow.client, { code, redirectUri: flow.redirectUri, codeVerifier: flow.codeVerifier, resource: flow.resource });
    const now = this.d.clock();
    await this.d.vault.put(flow.source, flow.user, {
      accessToken: set.accessToken,
      ...(set.refreshToken ? { refreshToken: set.refreshToken } : {}),
      ...(set.expiresIn ? { expiresAt: now + set.expiresIn * 1000 } : {}),
      ...(set.scope ? { scope: set.scope } : {}),
      resource: flow.resource,
      ...(flow.server.issuer ? { issuer: flow.server.issuer } : {}),
      tokenEndpoint: flow.server.tokenEndpoint,
      ...(flow.server.revocationEndpoint ? { revocationEndpoint: flow.server.revocationEndpoint } : {}),
      client: flow.client,
      obtainedAt: now,
    });
  }

  /** A current access token, refreshing first when it is within `refreshAhead` of expiry (single flight per credential). */
  async accessToken(source: string, user: string): Promise<UpstreamToken> {
    const c = this.d.vault.get(source, user);
    if (!c) return { kind: "missing" };
    if (c.state === "failed") return { kind: "failed", reason: c.failure ?? "refresh failed" };
    if (!this.#due(c)) return { kind: "ok", token: c.credential.accessToken, refreshed: false };
    return this.#refreshes.run(`${source}\n${user}`, () => this.#refresh(source, user));
  }

  /** RFC 7009 revocation where the upstream offers it (refresh token first: it revokes the grant), then delete. */
  async revoke(source: string, user: string): Promise<{ revoked: boolean }> {
    const c = this.d.vault.get(source, user);
    if (!c) return { revoked: false };
    const revoked = await revokeUpstream(this.d.http, c, this.d.logger);
    await this.d.vault.remove(source, user);
    return { revoked };
  }

  async #refresh(source: string, user: string): Promise<UpstreamToken> {
    // Re-read: a refresh that finished just before this flight started already did the work.
    const c = this.d.vault.get(source, user);
    if (!c) return { kind: "missing" };
    if (c.state === "failed") return { kind: "failed", reason: c.failure ?? "refresh failed" };
    if (!this.#due(c)) return { kind: "ok", token: c.credential.accessToken, refreshed: false };
    const cred = c.credential;
    if (!cred.refreshToken) {
      if (!this.#expired(c)) return { kind: "ok", token: cred.accessToken, refreshed: false };
      const reason = "access token expired and the upstream issued no refresh token";
      await this.d.vault.markFailed(source, user, reason);
      return { kind: "failed", reason };
    }
    this.refreshCount++;
    try {
      const set = await refreshTokens(this.d.http, cred.tokenEndpoint, cred.client, cred.refreshToken, cred.resource);
      const now = this.d.clock();
      const { expiresAt: _old, ...rest } = cred;
      await this.d.vault.put(source, user, {
        ...rest,
        accessToken: set.accessToken,
        // Rotation (RFC 9700 §4.14.2): keep the new one; servers that do not rotate send none.
        refreshToken: set.refreshToken ?? cred.refreshToken,
        ...(set.expiresIn ? { expiresAt: now + set.expiresIn * 1000 } : {}),
        ...(set.scope ? { scope: set.scope } : {}),
        obtainedAt: now,
      });
      return { kind: "ok", token: set.accessToken, refreshed: true };
    } catch (err) {
      if (err instanceof BrokerError && err.oauthError !== undefined && DEAD_GRANT.has(err.oauthError)) {
        const reason = `upstream refused the refresh: ${err.message}`;
        await this.d.vault.markFailed(source, user, reason);
        this.d.logger.warn("upstream refresh refused; credential marked failed", { source, user, error: err.oauthError });
        return { kind: "failed", reason };
      }
      // Transient (network, 5xx): the current token still serves until it really expires.
      this.d.logger.warn("upstream refresh failed", { source, user, error: err });
      if (!this.#expired(c)) return { kind: "ok", token: cred.accessToken, refreshed: false };
      throw err;
    }
  }

  #due(c: OpenedCredential): boolean {
    const exp = c.credential.expiresAt;
    if (exp === undefined) return false;
    return this.d.clock() >= exp - (c.credential.refreshToken ? this.d.refreshAheadMs : EXPIRY_SKEW_MS);
  }

  #expired(c: OpenedCredential): boolean {
    const exp = c.credential.expiresAt;
    return exp !== undefined && this.d.clock() >= exp - EXPIRY_SKEW_MS;
  }
}

/**
 * Revokes at the upstream (RFC 7009): the refresh token first (that ends the grant), then the
 * access token, best effort (servers often cannot revoke self-contained JWT access tokens:
 * `unsupported_token_type`, RFC 7009 §2.2.1). False when nothing could be revoked.
 */
export async function revokeUpstream(http: UpstreamHttp, c: OpenedCredential, logger: Logger): Promise<boolean> {
  const cred = c.credential;
  if (!cred.revocationEndpoint) return false;
  let revoked = false;
  for (const [token, hint] of [[cred.refreshToken, "refresh_token"], [cred.accessToken, "access_token"]] as const) {
    if (token === undefined) continue;
    try {
      await revokeToken(http, cred.revocationEndpoint, cred.client, token, hint);
      revoked = true;
    } catch (err) {
      const log = hint === "refresh_token" ? logger.warn : logger.debug;
      log.call(logger, "upstream revocation failed", { source: c.source, user: c.user, hint, error: err });
    }
  }
  return revoked;
}
