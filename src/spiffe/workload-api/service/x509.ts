/**
 * X.509-SVID profile (Workload API §5): FetchX509SVID and FetchX509Bundles, both server streams.
 */
import { X509Certificate } from "node:crypto";
import { GrpcStatus, GrpcStatusError } from "../grpc/status.ts";
import { decodeEmpty, encodeX509BundlesResponse, encodeX509SvidResponse } from "../proto/messages.ts";
import type { CallerIdentity, IssuedX509Svid } from "../types.ts";
import { bundlesDigest, concatBytes, trustDomainKeyOf, x509BundleBlobs } from "./bundles.ts";
import { record, requireIdentity, requireSecurityHeader, requireVerifier, type ServiceDeps, type WorkloadCall } from "./context.ts";
import { runStream, type StreamReason, type StreamStep } from "./watch.ts";

/** Retry a failed rotation after this long (bounded by the current SVID's remaining life). */
const ROTATION_RETRY_MS = 5_000;

interface Current {
  identity: CallerIdentity;
  svid: IssuedX509Svid;
  /** When to replace it (ms epoch). */
  rotateAt: number;
  bundles: string;
}

/**
 * §5.2.1. The first response goes out as soon as the caller is attested (§4.3); afterwards a new
 * one when the SVID reaches `rotateAtFraction` of its life, when the caller's identity changes
 * (new SVID), or when the bundles change (same SVID, new bundles). Every response is complete
 * (§4.3). An identity that disappears ends the stream with PermissionDenied (§5.2.1: "if the server
 * redacts … all SVIDs, i.e., returns a PermissionDenied gRPC status code").
 */
export async function fetchX509Svid(deps: ServiceDeps, request: Uint8Array, call: WorkloadCall, send: (m: Uint8Array) => void): Promise<void> {
  const rpc = "FetchX509SVID";
  requireSecurityHeader(deps, call, rpc);
  decodeEmpty(request);
  let current: Current | undefined;

  const evaluate = async (reason: StreamReason): Promise<StreamStep> => {
    const now = Date.now();
    let identity: CallerIdentity;
    try {
      identity = await requireIdentity(deps, call, rpc);
    } catch (err) {
      // Attestor trouble with a still-valid SVID in hand: keep the stream and retry; a denial ends it.
      if (current && err instanceof GrpcStatusError && err.status === GrpcStatus.UNAVAILABLE && now < current.svid.expiresAt) {
        return { nextAt: now + Math.min(ROTATION_RETRY_MS, (current.svid.expiresAt - now) / 2) };
      }
      if (current && err instanceof GrpcStatusError && err.status === GrpcStatus.PERMISSION_DENIED) {
        deps.logger.info("workload identity withdrawn; ending its X.509-SVID stream", { spiffeId: current.identity.spiffeId, pid: call.peer.pid });
      }
      throw err;
    }

    const renew = !current || current.identity.spiffeId !== identity.spiffeId || current.identity.x509TTLSeconds !== identity.x509TTLSeconds || now >= current.rotateAt;
    let svid = current?.svid;
    let rotateAt = current?.rotateAt ?? 0;
    if (renew) {
      try {
        svid = await deps.svids.issueX509Svid({ spiffeId: identity.spiffeId, ttlSeconds: identity.x509TTLSeconds });
      } catch (err) {
        deps.logger.error("issuing an X.509-SVID failed", { spiffeId: identity.spiffeId, reason, err });
        if (current && current.identity.spiffeId === identity.spiffeId && now < current.svid.expiresAt) {
          return { nextAt: now + Math.min(ROTATION_RETRY_MS, (current.svid.expiresAt - now) / 2) };
        }
        throw new GrpcStatusError(GrpcStatus.UNAVAILABLE, "could not issue an X.509-SVID; try again");
      }
      rotateAt = now + Math.max(0, svid.expiresAt - now) * deps.rotateAtFraction;
    }

    const bundles = x509BundleBlobs(deps.svids.x509Bundles());
    const ownKey = trustDomainKeyOf(identity.spiffeId);
    const own = bundles.get(ownKey);
    if (!own) {
      deps.logger.error("no X.509 bundle for the trust domain of an SVID", { trustDomain: ownKey });
      throw new GrpcStatusError(GrpcStatus.UNAVAILABLE, `no X.509 bundle for ${ownKey} yet; try again`);
    }
    const digest = bundlesDigest(bundles);
    if (!renew && current && digest === current.bundles) return { nextAt: current.rotateAt };

    if (renew) auditIssue(deps, call, rpc, identity, svid!, reason);
    current = { identity, svid: svid!, rotateAt, bundles: digest };
    bundles.delete(ownKey);
    const message = encodeX509SvidResponse({
      svids: [{ spiffeId: svid!.spiffeId, x509Svid: concatBytes(svid!.certChain), x509SvidKey: svid!.privateKey, bundle: own, hint: "" }],
      crl: [],
      federatedBundles: bundles,
    });
    return { message, nextAt: rotateAt };
  };

  await runStream(call, deps.updates, send, evaluate);
}

/**
 * §5.2.2. Every trust domain's X.509 authorities, own included (MUST contain at least the own
 * one: with none yet the call is Unavailable). A new response whenever they change.
 */
export async function fetchX509Bundles(deps: ServiceDeps, request: Uint8Array, call: WorkloadCall, send: (m: Uint8Array) => void): Promise<void> {
  const rpc = "FetchX509Bundles";
  requireSecurityHeader(deps, call, rpc);
  decodeEmpty(request);
  let last: string | undefined;
  await runStream(call, deps.updates, send, async () => {
    await requireVerifier(deps, call, rpc);
    const bundles = x509BundleBlobs(deps.svids.x509Bundles());
    if (bundles.size === 0) throw new GrpcStatusError(GrpcStatus.UNAVAILABLE, "no X.509 bundle available yet; try again");
    const digest = bundlesDigest(bundles);
    if (digest === last) return {};
    last = digest;
    return { message: encodeX509BundlesResponse({ crl: [], bundles }) };
  });
}

function auditIssue(deps: ServiceDeps, call: WorkloadCall, rpc: string, identity: CallerIdentity, svid: IssuedX509Svid, reason: StreamReason): void {
  const { pid, uid } = call.peer;
  let serial: string | undefined;
  try {
    if (svid.certChain[0]) serial = new X509Certificate(svid.certChain[0]).serialNumber;
  } catch {
    // The audit record goes without a serial; the client will report the unparseable certificate.
  }
  const details: Record<string, unknown> = { rpc, reason, expiresAt: new Date(svid.expiresAt).toISOString(), ttlSeconds: identity.x509TTLSeconds };
  if (serial) details.serial = serial;
  record(deps, { kind: "svid.x509.issue", decision: "allow", subject: svid.spiffeId, pid, uid, details });
  deps.logger.debug("issued X.509-SVID", { spiffeId: svid.spiffeId, pid, uid, reason, serial });
}
