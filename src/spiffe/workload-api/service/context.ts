/**
 * What every RPC handler shares: the dependencies, the security header check, caller attestation,
 * denial (status + audit record) and the fan-out of "something may have changed" events.
 */
import type { Logger } from "../../../log/index.ts";
import type { CallContext } from "../grpc/server.ts";
import { GrpcStatus, GrpcStatusError } from "../grpc/status.ts";
import type { ConnectionPeer } from "../transport/peercred.ts";
import type { CallerIdentifier, CallerIdentity, SvidSource, WorkloadAuditSink } from "../types.ts";

export type WorkloadCall = CallContext<ConnectionPeer>;
export type UpdateReason = "identity" | "bundle";

/** One subscription to the CA and the attestor per server, fanned out to the open streams. */
export class UpdateHub {
  private readonly subscribers = new Set<(reason: UpdateReason) => void>();

  constructor(private readonly logger: Logger) {}

  subscribe(fn: (reason: UpdateReason) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  emit(reason: UpdateReason): void {
    for (const fn of [...this.subscribers]) {
      try {
        fn(reason);
      } catch (err) {
        this.logger.error("workload api stream update failed", { reason, err });
      }
    }
  }

  get size(): number {
    return this.subscribers.size;
  }
}

export interface ServiceDeps {
  svids: SvidSource;
  callers: CallerIdentifier;
  logger: Logger;
  audit: WorkloadAuditSink | undefined;
  allowUnauthenticatedVerifiers: boolean;
  rotateAtFraction: number;
  updates: UpdateHub;
}

/** SPIFFE Workload Endpoint §3: the SSRF guard every request must carry, value case-sensitive. */
export const SECURITY_HEADER = "workload.spiffe.io";

export function record(deps: ServiceDeps, input: Parameters<WorkloadAuditSink["append"]>[0]): void {
  if (!deps.audit) return;
  try {
    deps.audit.append(input);
  } catch (err) {
    // The Workload API keeps serving: identities must not stop rotating because the audit store is unwell.
    deps.logger.error("could not write a workload api audit record", { kind: input.kind, err });
  }
}

/** The status error to end the call with, after auditing the denial. */
export function deny(deps: ServiceDeps, call: WorkloadCall, rpc: string, status: number, reason: string, message: string): GrpcStatusError {
  const { pid, uid } = call.peer;
  deps.logger.debug("workload api denied", { rpc, reason, pid, uid });
  record(deps, { kind: "workload_api.deny", decision: "deny", pid, uid, details: { rpc, reason } });
  return new GrpcStatusError(status, message);
}

/**
 * SPIFFE Workload Endpoint §3 / §6: a request without `workload.spiffe.io: true` MUST be rejected
 * with InvalidArgument. Checked before anything else (Workload API Appendix A, server step 3).
 */
export function requireSecurityHeader(deps: ServiceDeps, call: WorkloadCall, rpc: string): void {
  if (call.metadata[SECURITY_HEADER] === "true") return;
  throw deny(deps, call, rpc, GrpcStatus.INVALID_ARGUMENT, "missing security header", `security header missing from request: every call must carry the metadata "${SECURITY_HEADER}: true"`);
}

/**
 * Who the caller is, from the SO_PEERCRED of its connection (Workload Endpoint §5: out-of-band,
 * no participation by the workload). undefined = matches no WorkloadIdentity.
 */
export async function attest(deps: ServiceDeps, call: WorkloadCall, rpc: string): Promise<CallerIdentity | undefined> {
  const { pid, uid, gid, pidfd } = call.peer;
  let identity: CallerIdentity | undefined;
  try {
    identity = await deps.callers.identify(pidfd === undefined ? { pid, uid, gid } : { pid, uid, gid, pidfd });
  } catch (err) {
    deps.logger.error("attesting a workload api caller failed", { rpc, pid, uid, err });
    // Workload Endpoint §6: "Unavailable" = cannot handle the request now; clients retry with backoff.
    throw new GrpcStatusError(GrpcStatus.UNAVAILABLE, "could not attest the calling process; try again");
  }
  // The facts were read from /proc/<pid>; they belong to the caller only if the process that
  // connected is still the one holding that pid (see transport/peercred.ts).
  if (!call.peer.stillAlive()) {
    throw deny(deps, call, rpc, GrpcStatus.PERMISSION_DENIED, "caller exited", "the process that opened this connection has exited; connect again from the process that needs the identity");
  }
  return identity;
}

/**
 * attest(), with PermissionDenied when the caller matches no WorkloadIdentity: Workload API
 * §5.2.1 ("If the client is not entitled to receive any X509-SVIDs, then the server SHOULD respond
 * with the PermissionDenied gRPC status code"), likewise §5.2.2, §6.2.1, §6.2.2; Workload Endpoint §6.
 */
export async function requireIdentity(deps: ServiceDeps, call: WorkloadCall, rpc: string): Promise<CallerIdentity> {
  const identity = await attest(deps, call, rpc);
  if (identity) return identity;
  throw deny(deps, call, rpc, GrpcStatus.PERMISSION_DENIED, "no matching WorkloadIdentity", "this process matches no WorkloadIdentity: no SPIFFE identity is defined for it");
}

/** For bundle RPCs and ValidateJWTSVID: an identity is needed unless unauthenticated verifiers are allowed. */
export async function requireVerifier(deps: ServiceDeps, call: WorkloadCall, rpc: string): Promise<void> {
  if (deps.allowUnauthenticatedVerifiers) return;
  await requireIdentity(deps, call, rpc);
}
