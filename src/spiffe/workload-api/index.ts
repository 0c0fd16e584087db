/**
 * The SPIFFE Workload API (server and client) for sluice.
 *
 * Server: `createWorkloadApiServer({socketPath, svids, callers, logger, audit?})` serves
 * SpiffeWorkloadAPI (proto/workload.proto) as gRPC on a unix socket; each caller is identified by
 * the SO_PEERCRED of its connection and attested on every call.
 *
 * Client (for `sluice svid x509|jwt`): `resolveWorkloadEndpoint`, `fetchX509Svid`, `fetchJwtSvid`,
 * `writeX509Files`.
 */
export { createWorkloadApiServer } from "./server.ts";
export {
  DEFAULT_WORKLOAD_API_LIMITS,
  type CallerIdentifier,
  type CallerIdentity,
  type CallerPeer,
  type IssuedJwtSvid,
  type IssuedX509Svid,
  type SvidSource,
  type WorkloadApiLimits,
  type WorkloadApiServer,
  type WorkloadApiServerOptions,
  type WorkloadAuditSink,
} from "./types.ts";
export { fetchJwtSvid, fetchX509Svid, writeX509Files, WorkloadApiResponseError, type FetchOptions, type JwtSvidResult, type X509SvidResult } from "./fetch.ts";
export { parseEndpoint, resolveWorkloadEndpoint, SPIFFE_ENDPOINT_SOCKET, type ResolvedEndpoint } from "./endpoint.ts";
export { EndpointUnreachableError } from "./grpc/client.ts";
export { GrpcStatus, GrpcStatusError, statusName } from "./grpc/status.ts";
export { WorkloadSocketError } from "./transport/listener.ts";
export { SECURITY_HEADER, SERVICE_NAME } from "./service/index.ts";
