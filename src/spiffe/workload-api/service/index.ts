/**
 * The SpiffeWorkloadAPI service: method paths → handlers. The proto has no package, so paths are
 * `/SpiffeWorkloadAPI/<Method>` (the same as SPIRE and go-spiffe use).
 */
import type { MethodHandler } from "../grpc/server.ts";
import { GrpcStatus, GrpcStatusError } from "../grpc/status.ts";
import { ProtoDecodeError } from "../proto/wire.ts";
import type { ConnectionPeer } from "../transport/peercred.ts";
import type { ServiceDeps, WorkloadCall } from "./context.ts";
import { fetchJwtBundles, fetchJwtSvid, validateJwtSvid, witUnimplemented } from "./jwt.ts";
import { fetchX509Bundles, fetchX509Svid } from "./x509.ts";

export { UpdateHub, SECURITY_HEADER, type ServiceDeps } from "./context.ts";

export const SERVICE_NAME = "SpiffeWorkloadAPI";

type Unary = (deps: ServiceDeps, request: Uint8Array, call: WorkloadCall) => Promise<Uint8Array>;
type Stream = (deps: ServiceDeps, request: Uint8Array, call: WorkloadCall, send: (m: Uint8Array) => void) => Promise<void>;

export function workloadApiMethods(deps: ServiceDeps): Map<string, MethodHandler<ConnectionPeer>> {
  const unary = (fn: Unary): MethodHandler<ConnectionPeer> => ({ kind: "unary", handle: (req, call) => fn(deps, req, call).catch(malformed) });
  const stream = (fn: Stream): MethodHandler<ConnectionPeer> => ({ kind: "serverStream", handle: (req, call, send) => fn(deps, req, call, send).catch(malformed) });
  return new Map([
    [`/${SERVICE_NAME}/FetchX509SVID`, stream(fetchX509Svid)],
    [`/${SERVICE_NAME}/FetchX509Bundles`, stream(fetchX509Bundles)],
    [`/${SERVICE_NAME}/FetchJWTSVID`, unary(fetchJwtSvid)],
    [`/${SERVICE_NAME}/FetchJWTBundles`, stream(fetchJwtBundles)],
    [`/${SERVICE_NAME}/ValidateJWTSVID`, unary(validateJwtSvid)],
    [`/${SERVICE_NAME}/FetchWITSVID`, stream(witUnimplemented)],
    [`/${SERVICE_NAME}/FetchWITBundles`, stream(witUnimplemented)],
  ]);
}

/** Undecodable request bytes are the client's mistake: InvalidArgument (Workload API §4.5 spirit). */
function malformed(err: unknown): never {
  if (err instanceof ProtoDecodeError) throw new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, `malformed request message: ${err.message}`);
  throw err;
}
