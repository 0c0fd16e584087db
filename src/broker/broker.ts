/** startBroker: the credential broker's parts, wired for `sluice serve`. */
import type { SluiceConfig } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { AccessTokenVerifier, AuthorizationResumer, AuthorizationStep } from "../oauth/types.ts";
import type { PolicySnapshot, PolicySubscriber } from "../policy/index.ts";
import type { Injector } from "../proxy/types.ts";
import type { RouteModule } from "../server/http.ts";
import type { TrustDomainCA } from "../spiffe/index.ts";
import type { Store } from "../store/index.ts";
import { revokeStoredCredentials, type RevokedCredential } from "./admin.ts";
import type { AuditSink } from "./audit.ts";
import { UPSTREAM_CALLBACK_PATH, upstreamCallbackRoutes } from "./callback.ts";
import { UpstreamFlows } from "./flows.ts";
import { createUpstreamHttp, type FetchLike } from "./http.ts";
import { CredentialInjector } from "./injector.ts";
import { Registrations } from "./registrations.ts";
import { revokeUncovered, covered } from "./removal.ts";
import { SecretReader } from "./secrets.ts";
import { AuthorizationCodeSource } from "./sources/authorization-code.ts";
import { ClientCredentialsSource } from "./sources/client-credentials.ts";
import { JwtSvidSource } from "./sources/jwt-svid.ts";
import { createUpstreamStep, type StepDeps } from "./step.ts";
import { Vault } from "./vault.ts";

/** What the broker needs of the policy engine (PolicyEngine satisfies it). */
export interface PolicySource {
  current(): PolicySnapshot;
  subscribe(fn: PolicySubscriber): () => void;
}

export interface BrokerOptions {
  readonly config: SluiceConfig;
  readonly store: Store;
  readonly audit: AuditSink;
  readonly policy: PolicySource;
  readonly ca: TrustDomainCA;
  readonly verifier: AccessTokenVerifier;
  /** The users part's resumer; it is usually created after the steps it runs: pass it later with `setResumer`. */
  readonly resumer?: AuthorizationResumer;
  readonly logger: Logger;
  /** For tests: the HTTP client toward upstreams (default: fetch with the system store + proxy.upstreamCaFile). */
  readonly fetch?: FetchLike;
  /** For tests: ms since the epoch. */
  readonly clock?: () => number;
  /** Where `{env}` secrets are read (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How often stored credentials close to expiry are refreshed in the background; 0 = only on demand. Default 15000. */
  readonly refreshSweepMs?: number;
}

export interface Broker {
  /** The AuthorizationStep "upstream" for the users part (runs between consent and code issuance). */
  readonly step: AuthorizationStep;
  /** For the proxy: decides per request what to inject or refuse. */
  readonly injector: Injector;
  /** `GET /oauth2/upstream/callback`. */
  readonly routes: RouteModule[];
  /** Hands over the users part's AuthorizationResumer (needed before an upstream callback can finish). */
  setResumer(resumer: AuthorizationResumer): void;
  /** Upstream refreshes sent since start. */
  refreshCount(): number;
  /** `sluice credentials revoke` inside serve (for the admin channel): revoke upstream, delete, audit. */
  revokeCredentials(source: string, user?: string): Promise<RevokedCredential[]>;
  /** Resolves when the revocations triggered by policy changes so far are done. */
  settled(): Promise<void>;
  /** Stops the background refresh and waits for revocations in progress. */
  stop(): Promise<void>;
}

export async function startBroker(o: BrokerOptions): Promise<Broker> {
  const logger = o.logger.child({ component: "broker" });
  const clock = o.clock ?? Date.now;
  const http = createUpstreamHttp({ caFile: o.config.proxy.upstreamCaFile, ...(o.fetch ? { fetch: o.fetch } : {}) });
  const vault = new Vault(o.store, clock);
  const secrets = new SecretReader(o.env ?? process.env);
  const refreshAheadMs = o.config.broker.refreshAheadSeconds * 1000;
  const redirectUri = `${o.config.issuer.replace(/\/$/, "")}${UPSTREAM_CALLBACK_PATH}`;
  const authCode = new AuthorizationCodeSource({ http, vault, registrations: new Registrations(o.store), secrets, redirectUri, refreshAheadMs, clock, logger });
  const clientCredentials = new ClientCredentialsSource(http, secrets, refreshAheadMs, clock);
  const jwtSvid = new JwtSvidSource(o.ca, clock);
  const flows = new UpstreamFlows(clock);
  const policy = () => o.policy.current();
  let resumer = o.resumer;

  const stepDeps: StepDeps = { policy, authCode, flows, audit: o.audit, logger, clock };
  const injector = new CredentialInjector({ issuer: o.config.issuer, policy, verifier: o.verifier, authCode, clientCredentials, jwtSvid, secrets, audit: o.audit, logger });

  let work: Promise<unknown> = Promise.resolve();
  const unsubscribe = o.policy.subscribe((snapshot, previous) => {
    clientCredentials.retain(new Set(snapshot.credentialSources().map((s) => s.name)));
    jwtSvid.clear();
    if (!previous) return;
    work = work.then(() => revokeUncovered({ vault, authCode, audit: o.audit, logger }, snapshot, previous)).catch((err) => logger.error("revoking removed credentials failed", { error: err }));
  });

  const sweepMs = o.refreshSweepMs ?? 15_000;
  const sweep = () => {
    const snapshot = policy();
    for (const e of vault.entries()) {
      if (e.state !== "active" || !e.hasRefreshToken || e.expiresAt === undefined) continue;
      if (e.expiresAt - refreshAheadMs > clock() || !covered(snapshot, e)) continue;
      authCode.accessToken(e.source, e.user).catch((err) => logger.warn("background refresh failed", { source: e.source, error: err }));
    }
  };
  const timer = sweepMs > 0 ? setInterval(() => { try { sweep(); } catch (err) { logger.error("refresh sweep failed", { error: err }); } }, sweepMs) : undefined;
  timer?.unref?.();

  return {
    step: createUpstreamStep(stepDeps),
    injector,
    routes: [upstreamCallbackRoutes({ ...stepDeps, resumer: () => resumer })],
    setResumer: (r) => {
      resumer = r;
    },
    refreshCount: () => authCode.refreshCount,
    revokeCredentials: (source, user) => revokeStoredCredentials({ vault, http, audit: o.audit, logger }, source, user),
    settled: async () => {
      await work;
    },
    async stop() {
      if (timer) clearInterval(timer);
      unsubscribe();
      await work;
    },
  };
}
