/**
 * The injecting proxy's data path (DESIGN §2 steps 2–4 and 8).
 *
 * - `startProxy(options)` → `RunningProxy` (`listening.{v4,v6}`, `explicit?`, `hostCa`, `metrics`,
 *   `pool`, `stop()`): redirect listener on 127.0.0.1 and ::1 at `proxy.listen`'s port, optional
 *   CONNECT listener on `proxy.explicit`; per Service `tls:` intercept | upgrade | passthrough.
 * - Seams (./types.ts): `Injector` per request head, `ResponseRewriter` for claimed responses.
 * - `discoveryRewriter({issuer, policy})`: RFC 9728 metadata → sluice as the authorization server.
 * - `ProxyMetrics` (`renderPrometheus()`, `onRequest(hook)`), host CA (`openHostCa`, `HOST_CA_PEM_FILE`).
 */
export { startProxy, type ExplicitClient, type ListenAddress, type PeerAddress, type RunningProxy, type StartProxyOptions, type WorkloadSvid } from "./proxy.ts";
export { discoveryRewriter, type DiscoveryRewriterOptions } from "./discovery-rewrite.ts";
export { ProxyMetrics, type RequestHook, type RequestObservation } from "./metrics.ts";
export { ProxyError, type ProxyErrorCode } from "./errors.ts";
export { DEFAULT_HTTP_LIMITS, type HttpLimits } from "./http/limits.ts";
export { openHostCa, HOST_CA_NAME, HOST_CA_PEM_FILE, type HostCa, type HostCaOptions, type ServerIdentity } from "./host-ca/index.ts";
export type { HostAddresses, PolicySource } from "./services.ts";
export type * from "./types.ts";
