/**
 * `startOAuth`: the token side of the authorization server, composed for `sluice serve`.
 */
import type { AuditLog } from "../audit/index.ts";
import type { SluiceConfig } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { PolicyEngine } from "../policy/index.ts";
import type { RouteModule } from "../server/http.ts";
import type { TrustDomainCA } from "../spiffe/index.ts";
import type { Store } from "../store/index.ts";
import type { EndpointDeps } from "./endpoints/context.ts";
import { introspectionEndpoint } from "./endpoints/introspect.ts";
import { buildMetadata, metadataPaths } from "./endpoints/metadata.ts";
import { revocationEndpoint } from "./endpoints/revoke.ts";
import { tokenEndpoint } from "./endpoints/token.ts";
import { userinfoEndpoint } from "./endpoints/userinfo.ts";
import type { GrantDeps } from "./grants/context.ts";
import { SigningKeys } from "./keys/signing-keys.ts";
import { RateLimiter, type RateLimiterOptions } from "./rate-limit.ts";
import { PolicyResourceValidator } from "./resources.ts";
import { defaultCallerResolver, oauthRoutes, type CallerResolver, type TokenSideEndpoints } from "./routes.ts";
import { CodeStore } from "./tokens/codes.ts";
import { TokenMinter } from "./tokens/minter.ts";
import { RefreshTokens } from "./tokens/refresh.ts";
import { Revocations } from "./tokens/revocation.ts";
import { nowSeconds } from "./tokens/secrets.ts";
import { StoreTokenRevoker } from "./tokens/user-revocation.ts";
import { SluiceAccessTokenVerifier } from "./tokens/verifier.ts";
import type { AccessTokenVerifier, AuthorizationCodes, ClientRegistry, ResourceValidator, TokenRevoker, UserDirectory } from "./types.ts";

export interface OAuthRateLimits {
  /** Token, introspection and revocation requests per remote address. */
  readonly perAddress: Pick<RateLimiterOptions, "ratePerSecond" | "burst">;
  /** … per authenticated client. */
  readonly perClient: Pick<RateLimiterOptions, "ratePerSecond" | "burst">;
}

export const DEFAULT_OAUTH_RATE_LIMITS: OAuthRateLimits = {
  perAddress: { ratePerSecond: 200, burst: 400 },
  perClient: { ratePerSecond: 20, burst: 60 },
};

export interface StartOAuthOptions {
  readonly config: Pick<SluiceConfig, "issuer" | "oauth">;
  readonly store: Store;
  readonly audit: Pick<AuditLog, "append">;
  readonly policy: Pick<PolicyEngine, "current">;
  /** For JWT-SVID subject/actor tokens: this trust domain's and federated bundles. */
  readonly ca: Pick<TrustDomainCA, "trustDomain" | "bundles">;
  readonly clients: ClientRegistry;
  readonly users: UserDirectory;
  readonly logger: Logger;
  /** Who is calling (remote address; the lead adds local attestation). */
  readonly callerOf?: CallerResolver;
  readonly rateLimits?: OAuthRateLimits;
  /** Scopes published in the metadata besides openid, profile, offline_access. */
  readonly scopes?: readonly string[];
  /** Seconds since the epoch (tests). */
  readonly now?: () => number;
}

export interface OAuthServer {
  readonly routes: RouteModule[];
  readonly codes: AuthorizationCodes;
  readonly verifier: AccessTokenVerifier;
  readonly resources: ResourceValidator;
  /** For the users part: removing a user or withdrawing a consent revokes what was issued (`startUsers({ revoker })`). */
  readonly revoker: TokenRevoker;
  /** The same endpoints as plain `(Request, CallerContext) => Response` handlers, for a listener that does not go through Elysia. */
  readonly endpoints: TokenSideEndpoints;
  /** Sweep expired state and rotate keys now (a timer does it otherwise). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

const TICK_MS = 60_000;
const LEEWAY_SECONDS = 60;

export async function startOAuth(options: StartOAuthOptions): Promise<OAuthServer> {
  const { config, store, audit, ca, clients, users } = options;
  const logger = options.logger.child({ component: "oauth" });
  const now = options.now ?? nowSeconds;
  const issuer = config.issuer;
  const o = config.oauth;

  const keys = await SigningKeys.open({
    store,
    logger,
    keyTtlSeconds: o.signingKeyTtlSeconds,
    maxTokenTtlSeconds: Math.max(o.accessTokenTtlSeconds, o.idTokenTtlSeconds) + LEEWAY_SECONDS,
    now,
  });
  const revocations = new Revocations(store);
  const verifier = new SluiceAccessTokenVerifier(keys, issuer, revocations, now);
  const codes = new CodeStore(store, revocations, o.codeTtlSeconds, now);
  const refresh = new RefreshTokens(store, revocations, o.refreshTokenTtlSeconds, now);
  const resources = new PolicyResourceValidator(options.policy, issuer);
  const revoker = new StoreTokenRevoker({ store, audit, revocations, accessTokenTtlSeconds: o.accessTokenTtlSeconds, now });
  const minter = new TokenMinter(keys, issuer, o.accessTokenTtlSeconds, o.idTokenTtlSeconds);
  const grants: GrantDeps = { issuer, codes, refresh, minter, resources, verifier, ca, audit };
  const limits = options.rateLimits ?? DEFAULT_OAUTH_RATE_LIMITS;
  const deps: EndpointDeps = {
    issuer,
    clients,
    users,
    verifier,
    refresh,
    revocations,
    grants,
    audit,
    logger,
    limits: { perAddress: new RateLimiter(limits.perAddress), perClient: new RateLimiter(limits.perClient) },
    now,
  };

  const metadata = JSON.stringify(buildMetadata(config, options.scopes));
  const endpoints = endpointsOf(deps, metadata, keys);
  const paths = metadataPaths(issuer);
  const routes = [oauthRoutes(issuer, [...paths.oauth, ...paths.openid], endpoints, options.callerOf ?? defaultCallerResolver)];

  const tick = async () => {
    const t = now();
    await keys.tick();
    codes.sweep(t);
    refresh.sweep(t);
    revocations.sweep(t);
  };
  const timer = setInterval(() => {
    tick().catch((error) => logger.error("oauth maintenance failed", { error }));
  }, TICK_MS);
  timer.unref?.();

  return {
    routes,
    codes,
    verifier,
    resources,
    revoker,
    endpoints,
    tick,
    async stop() {
      clearInterval(timer);
    },
  };
}

function endpointsOf(deps: EndpointDeps, metadata: string, keys: SigningKeys): TokenSideEndpoints {
  const publicJson = (body: string) =>
    new Response(body, { headers: { "content-type": "application/json", "cache-control": "public, max-age=300", "access-control-allow-origin": "*" } });
  let jwksSource: unknown;
  let jwksBody = "";
  return {
    token: tokenEndpoint(deps),
    introspect: introspectionEndpoint(deps),
    revoke: revocationEndpoint(deps),
    userinfo: userinfoEndpoint(deps),
    metadata: () => publicJson(metadata),
    jwks: () => {
      const set = keys.jwks();
      if (set !== jwksSource) [jwksSource, jwksBody] = [set, JSON.stringify(set)];
      return publicJson(jwksBody);
    },
  };
}
