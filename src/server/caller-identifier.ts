import { IdentityError, type Attestor } from "../identity/index.ts";
import type { PolicyEngine } from "../policy/index.ts";
import type { CallerIdentifier } from "../spiffe/workload-api/index.ts";

/** Codes meaning "that process is no longer the one that connected": deny, never attribute. */
const GONE = new Set(["ERR_PROCESS_GONE", "ERR_PID_REUSED", "ERR_PROCESS_CHANGED"]);

/** Workload API callers → WorkloadIdentity, by attestation of the connecting process against the policy in force. */
export function callerIdentifierFor(attestor: Attestor, policy: PolicyEngine): CallerIdentifier {
  return {
    async identify(peer) {
      try {
        const { match } = await attestor.identify(peer.pid, policy.current(), peer.pidfd === undefined ? {} : { pidfd: peer.pidfd });
        const w = match.workload;
        return w ? { spiffeId: w.spiffeId, x509TTLSeconds: w.svid.x509TTL, jwtTTLSeconds: w.svid.jwtTTL } : undefined;
      } catch (err) {
        if (err instanceof IdentityError && GONE.has(err.code)) return undefined;
        throw err;
      }
    },
    onChange(fn) {
      return policy.subscribe(() => fn());
    },
  };
}
