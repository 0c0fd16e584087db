/** Builds the client side of the AS for `sluice serve`: registry, registration route, expiry timer. */
import type { SluiceConfig } from "../../config/index.ts";
import type { Logger } from "../../log/index.ts";
import type { RouteModule } from "../../server/http.ts";
import type { TrustDomainCA } from "../../spiffe/index.ts";
import type { Store } from "../../store/index.ts";
import { RateLimiter } from "../rate-limit.ts";
import { publicAddressesOnly, type AddressPolicy } from "./address-policy.ts";
import type { AttestPeer } from "./caller-context.ts";
import { CLIENT_LIMITS } from "./limits.ts";
import { MetadataDocuments } from "./metadata-documents.ts";
import { registrationRoutes } from "./register-route.ts";
import { StoredClientRegistry, type AuditSink } from "./registry.ts";
import type { FetchDocumentOptions } from "./safe-fetch.ts";

export interface ClientRegistryOptions {
  readonly config: Pick<SluiceConfig, "issuer"> & { readonly oauth: Pick<SluiceConfig["oauth"], "clientIdleExpirySeconds"> };
  readonly store: Store;
  readonly audit: AuditSink;
  readonly ca: Pick<TrustDomainCA, "bundles">;
  readonly logger: Logger;
  /** Fetching client documents (CIMD, jwks_uri): the address policy (default: public addresses only), extra CA PEM, timeout. */
  readonly fetchOptions?: { readonly allowAddress?: AddressPolicy; readonly ca?: string; readonly timeoutMs?: number };
  /** Maps a local process to its SPIFFE ID (registration binds to it); without it nothing is attested. */
  readonly attest?: AttestPeer;
  /** Registrations per remote address (default 0.2/s sustained, burst 20). */
  readonly registrationRate?: { readonly ratePerSecond: number; readonly burst: number };
  /** How often unused clients are looked for and touches written (default: hourly / every 10 s). */
  readonly sweepIntervalMs?: number;
  readonly touchFlushIntervalMs?: number;
  readonly now?: () => number;
}

export interface ClientRegistryHandle {
  readonly registry: StoredClientRegistry;
  readonly routes: RouteModule[];
  /** Writes pending touches, stops the timers. The store stays open (the caller owns it). */
  stop(): Promise<void>;
}

export async function createClientRegistry(options: ClientRegistryOptions): Promise<ClientRegistryHandle> {
  const logger = options.logger.child({ component: "oauth-clients" });
  const now = options.now ?? Date.now;
  const fetchOptions: FetchDocumentOptions = {
    allowAddress: options.fetchOptions?.allowAddress ?? publicAddressesOnly,
    maxBytes: CLIENT_LIMITS.maxDocumentBytes,
    timeoutMs: options.fetchOptions?.timeoutMs ?? CLIENT_LIMITS.fetchTimeoutMs,
    ...(options.fetchOptions?.ca ? { ca: options.fetchOptions.ca } : {}),
  };
  const bundles = options.ca.bundles;
  const registry = new StoredClientRegistry({
    issuer: options.config.issuer,
    store: options.store,
    audit: options.audit,
    bundles,
    documents: new MetadataDocuments(bundles, fetchOptions, now),
    fetchOptions,
    idleExpirySeconds: options.config.oauth.clientIdleExpirySeconds,
    logger,
    now,
  });
  await registry.sweep();
  const sweepTimer = setInterval(() => void registry.sweep().catch((error) => logger.error("client expiry sweep failed", { error })), options.sweepIntervalMs ?? 3_600_000);
  const touchTimer = setInterval(() => registry.flushTouches(), options.touchFlushIntervalMs ?? 10_000);
  sweepTimer.unref?.();
  touchTimer.unref?.();
  const limiter = new RateLimiter({ ...(options.registrationRate ?? { ratePerSecond: 0.2, burst: 20 }), now });
  return {
    registry,
    routes: [registrationRoutes(options.config.issuer, registry, limiter, logger, options.attest)],
    async stop() {
      clearInterval(sweepTimer);
      clearInterval(touchTimer);
      registry.flushTouches();
    },
  };
}
