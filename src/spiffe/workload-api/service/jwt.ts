/**
 * JWT-SVID profile (Workload API §6): FetchJWTSVID (unary), FetchJWTBundles (stream),
 * ValidateJWTSVID (unary).
 */
import { GrpcStatus, GrpcStatusError } from "../grpc/status.ts";
import {
  decodeEmpty,
  decodeJwtSvidRequest,
  decodeValidateJwtSvidRequest,
  encodeJwtBundlesResponse,
  encodeJwtSvidResponse,
  encodeValidateJwtSvidResponse,
} from "../proto/messages.ts";
import { bundlesDigest, normalizeKeys, SPIFFE_SCHEME } from "./bundles.ts";
import { deny, record, requireIdentity, requireSecurityHeader, requireVerifier, type ServiceDeps, type WorkloadCall } from "./context.ts";
import { runStream } from "./watch.ts";

const MAX_AUDIENCES = 32;
const MAX_AUDIENCE_BYTES = 1024;
/** A JWT-SVID is a few hundred bytes; this bounds what ValidateJWTSVID will parse. */
const MAX_TOKEN_BYTES = 16 * 1024;

function invalid(message: string): GrpcStatusError {
  return new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, message);
}

/**
 * §6.2.1. `audience` is mandatory (§4.5: a mandatory field at its default value → InvalidArgument).
 * With `spiffe_id` set, only that identity, and PermissionDenied if the caller is not entitled to it.
 */
export async function fetchJwtSvid(deps: ServiceDeps, request: Uint8Array, call: WorkloadCall): Promise<Uint8Array> {
  const rpc = "FetchJWTSVID";
  requireSecurityHeader(deps, call, rpc);
  const req = decodeJwtSvidRequest(request);
  if (req.audience.length === 0) throw invalid("audience must be specified");
  if (req.audience.length > MAX_AUDIENCES) throw invalid(`at most ${MAX_AUDIENCES} audiences may be requested`);
  for (const a of req.audience) {
    if (a === "") throw invalid("audience values must not be empty");
    if (Buffer.byteLength(a) > MAX_AUDIENCE_BYTES) throw invalid(`audience values are limited to ${MAX_AUDIENCE_BYTES} bytes`);
  }
  if (req.spiffeId !== "" && !req.spiffeId.startsWith(SPIFFE_SCHEME)) throw invalid(`spiffe_id ${JSON.stringify(req.spiffeId.slice(0, 100))} is not a SPIFFE ID`);

  const identity = await requireIdentity(deps, call, rpc);
  if (req.spiffeId !== "" && req.spiffeId !== identity.spiffeId) {
    throw deny(deps, call, rpc, GrpcStatus.PERMISSION_DENIED, "not entitled to the requested SPIFFE ID", `this process is not entitled to ${req.spiffeId}`);
  }
  let issued;
  try {
    issued = await deps.svids.issueJwtSvid({ spiffeId: identity.spiffeId, audience: req.audience, ttlSeconds: identity.jwtTTLSeconds });
  } catch (err) {
    deps.logger.error("issuing a JWT-SVID failed", { spiffeId: identity.spiffeId, err });
    throw new GrpcStatusError(GrpcStatus.UNAVAILABLE, "could not issue a JWT-SVID; try again");
  }
  const { pid, uid } = call.peer;
  record(deps, {
    kind: "svid.jwt.issue",
    decision: "allow",
    subject: identity.spiffeId,
    pid,
    uid,
    details: { rpc, audience: req.audience, expiresAt: new Date(issued.expiresAt).toISOString(), ttlSeconds: identity.jwtTTLSeconds },
  });
  deps.logger.debug("issued JWT-SVID", { spiffeId: identity.spiffeId, pid, uid, audience: req.audience });
  return encodeJwtSvidResponse({ svids: [{ spiffeId: identity.spiffeId, svid: issued.token, hint: "" }] });
}

/** §6.2.2. JWKS per trust domain (own included; none yet → Unavailable), re-sent when they change. */
export async function fetchJwtBundles(deps: ServiceDeps, request: Uint8Array, call: WorkloadCall, send: (m: Uint8Array) => void): Promise<void> {
  const rpc = "FetchJWTBundles";
  requireSecurityHeader(deps, call, rpc);
  decodeEmpty(request);
  let last: string | undefined;
  await runStream(call, deps.updates, send, async () => {
    await requireVerifier(deps, call, rpc);
    const bundles = normalizeKeys(deps.svids.jwtBundles());
    if (bundles.size === 0) throw new GrpcStatusError(GrpcStatus.UNAVAILABLE, "no JWT bundle available yet; try again");
    const digest = bundlesDigest(bundles);
    if (digest === last) return {};
    last = digest;
    return { message: encodeJwtBundlesResponse({ bundles }) };
  });
}

/**
 * §6.2.3. Both fields mandatory (InvalidArgument). The token is validated by the CA per the
 * JWT-SVID spec; any failure is InvalidArgument carrying the rule that failed.
 */
export async function validateJwtSvid(deps: ServiceDeps, request: Uint8Array, call: WorkloadCall): Promise<Uint8Array> {
  const rpc = "ValidateJWTSVID";
  requireSecurityHeader(deps, call, rpc);
  const req = decodeValidateJwtSvidRequest(request);
  if (req.audience === "") throw invalid("audience must be specified");
  if (req.svid === "") throw invalid("svid must be specified");
  if (Buffer.byteLength(req.audience) > MAX_AUDIENCE_BYTES) throw invalid(`audience is limited to ${MAX_AUDIENCE_BYTES} bytes`);
  if (req.svid.length > MAX_TOKEN_BYTES) throw invalid(`svid is limited to ${MAX_TOKEN_BYTES} bytes`);
  await requireVerifier(deps, call, rpc);
  let result;
  try {
    result = await deps.svids.validateJwtSvid(req.svid, req.audience);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error && err.message ? err.message : "invalid JWT-SVID";
    deps.logger.debug("JWT-SVID validation failed", { pid: call.peer.pid, code, message });
    throw invalid(`invalid JWT-SVID: ${message}`);
  }
  return encodeValidateJwtSvidResponse({ spiffeId: result.spiffeId, claims: result.claims });
}

/** Workload API §7: the WIT-SVID profile is optional; unsupported → MUST return Unimplemented. */
export async function witUnimplemented(): Promise<never> {
  throw new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, "the WIT-SVID profile is not supported by this server");
}
