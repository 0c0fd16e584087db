/**
 * RFC 7591 dynamic registration, SPIFFE-backed: a registration proves a SPIFFE ID by local
 * attestation (`CallerContext.attestedSpiffeId`), an X.509-SVID over mTLS, or a JWT-SVID sent as
 * the `software_statement` (RFC 7591 §2.3) or, in the draft's own shape, as `client_assertion`
 * with `client_assertion_type` jwt-spiffe (draft-ietf-oauth-spiffe-client-auth §3.1; either way
 * `aud` = the issuer as sole value). The client is then bound to that SPIFFE ID with no secret. Proofs that disagree, or a requested `spiffe_id` that contradicts the proven one, are refused.
 */
import { randomBytes } from "node:crypto";
import { MAX_JWT_SVID_BYTES, SvidError, verifyJwtSvid, verifyX509Svid, type BundleSource } from "../../spiffe/index.ts";
import { OAuthError, type CallerContext } from "../types.ts";
import { ASSERTION_TYPE_JWT_SPIFFE } from "./authenticate.ts";
import { validateMetadata, type ValidatedMetadata } from "./metadata.ts";
import type { ClientRecord } from "./records.ts";
import { bindingMatches } from "./spiffe-binding.ts";

export interface ProvenIdentity {
  readonly spiffeId: string;
  readonly proof: "attested" | "jwt-svid" | "x509-svid";
}

export interface RegistrationContext {
  readonly issuer: string;
  readonly bundles: BundleSource;
  readonly now: number;
}

/** Validates the request and builds the record to store (not stored yet). */
export function buildRegistration(body: Record<string, unknown>, caller: CallerContext, ctx: RegistrationContext): { record: ClientRecord; metadata: ValidatedMetadata } {
  const attested = caller.attestedSpiffeId !== undefined;
  const metadata = validateMetadata(body, ctx.bundles, { attested });
  const proven = provenIdentity(metadata, jwtSvidAssertion(body), caller, ctx);
  // A workload proven only at registration (JWT-SVID, X.509-SVID) must prove itself again on every
  // token request: a public client bound to its ID would let anyone holding the client_id obtain
  // tokens in the workload's name. RFC 7591 §3.2.1 lets the server substitute the method (returned).
  // Attested clients are re-attested per request instead (ClientRegistry.authenticate).
  const method =
    proven && proven.proof !== "attested" && metadata.tokenEndpointAuthMethod === "none" ? (proven.proof === "jwt-svid" ? "spiffe_jwt" : "spiffe_x509") : metadata.tokenEndpointAuthMethod;

  let spiffeId = metadata.spiffeId;
  if (proven) {
    if (spiffeId !== undefined && !bindingMatches(spiffeId, proven.spiffeId))
      throw new OAuthError("invalid_client_metadata", `spiffe_id ${spiffeId} contradicts the ${describe(proven.proof)} SPIFFE ID ${proven.spiffeId}`);
    spiffeId ??= proven.spiffeId;
  }
  if (spiffeId !== undefined && !proven && method !== "spiffe_jwt" && method !== "spiffe_x509")
    throw new OAuthError(
      "invalid_client_metadata",
      `spiffe_id needs proof: register with a JWT-SVID software_statement, over mTLS with an X.509-SVID, or use token_endpoint_auth_method spiffe_jwt/spiffe_x509`,
    );
  // A prefix binding only makes sense when every token request proves the exact ID again.
  if (spiffeId?.endsWith("/*") && method !== "spiffe_jwt" && method !== "spiffe_x509")
    throw new OAuthError("invalid_client_metadata", `spiffe_id ${spiffeId} is a prefix: it needs token_endpoint_auth_method spiffe_jwt or spiffe_x509`);
  if ((method === "spiffe_jwt" || method === "spiffe_x509") && spiffeId === undefined)
    throw new OAuthError("invalid_client_metadata", `token_endpoint_auth_method ${method} needs spiffe_id (or a registration that proves one)`);

  const record: ClientRecord = {
    clientId: randomBytes(18).toString("base64url"),
    ...(metadata.clientName === undefined ? {} : { clientName: metadata.clientName }),
    redirectUris: metadata.redirectUris,
    grantTypes: metadata.grantTypes,
    responseTypes: metadata.responseTypes,
    tokenEndpointAuthMethod: method,
    applicationType: metadata.applicationType,
    ...(metadata.scope === undefined ? {} : { scope: metadata.scope }),
    ...(spiffeId === undefined ? {} : { spiffeId }),
    origin: proven?.proof === "attested" ? "attested" : "dynamic",
    ...(metadata.jwks === undefined ? {} : { jwks: metadata.jwks }),
    ...(metadata.jwksUri === undefined ? {} : { jwksUri: metadata.jwksUri }),
    ...(metadata.clientUri === undefined ? {} : { clientUri: metadata.clientUri }),
    ...(metadata.logoUri === undefined ? {} : { logoUri: metadata.logoUri }),
    ...(metadata.contacts === undefined ? {} : { contacts: metadata.contacts }),
    ...(metadata.softwareId === undefined ? {} : { softwareId: metadata.softwareId }),
    ...(metadata.softwareVersion === undefined ? {} : { softwareVersion: metadata.softwareVersion }),
    createdAt: ctx.now,
    lastUsedAt: ctx.now,
    registeredBy: {
      ...(caller.remoteAddress === undefined ? {} : { remoteAddress: caller.remoteAddress }),
      ...(proven ? { spiffeId: proven.spiffeId, proof: proven.proof } : {}),
    },
  };
  return { record, metadata };
}

/** Every proof the request carries, checked; they must agree. */
function provenIdentity(metadata: ValidatedMetadata, assertion: string | undefined, caller: CallerContext, ctx: RegistrationContext): ProvenIdentity | undefined {
  const proofs: ProvenIdentity[] = [];
  if (caller.attestedSpiffeId !== undefined) proofs.push({ spiffeId: caller.attestedSpiffeId, proof: "attested" });
  if (caller.peerCertificates && caller.peerCertificates.length > 0) {
    try {
      proofs.push({ spiffeId: verifyX509Svid(caller.peerCertificates, ctx.bundles).spiffeId, proof: "x509-svid" });
    } catch (err) {
      if (err instanceof SvidError) throw new OAuthError("invalid_client", `the client certificate is not a valid X.509-SVID: ${err.message}`, { cause: err });
      throw err;
    }
  }
  for (const [field, token] of [["software_statement", metadata.softwareStatement], ["client_assertion", assertion]] as const) {
    if (token === undefined) continue;
    try {
      const svid = verifyJwtSvid(token, ctx.bundles, { audience: ctx.issuer });
      // draft-ietf-oauth-spiffe-client-auth §3.1 item 3: the issuer is the sole audience.
      if (svid.audience.length !== 1) throw new OAuthError("invalid_software_statement", `${field}: aud must be exactly ["${ctx.issuer}"]`);
      proofs.push({ spiffeId: svid.spiffeId, proof: "jwt-svid" });
    } catch (err) {
      if (err instanceof SvidError) throw new OAuthError("invalid_software_statement", `${field} is not a valid JWT-SVID for ${ctx.issuer}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  const first = proofs[0];
  for (const other of proofs.slice(1)) {
    if (other.spiffeId !== first!.spiffeId)
      throw new OAuthError("invalid_client_metadata", `the ${describe(other.proof)} SPIFFE ID ${other.spiffeId} contradicts the ${describe(first!.proof)} ${first!.spiffeId}`);
  }
  return first;
}

/** `client_assertion` of type jwt-spiffe in the registration body; other assertion types are refused, not ignored. */
function jwtSvidAssertion(body: Record<string, unknown>): string | undefined {
  const type = body.client_assertion_type;
  const assertion = body.client_assertion;
  if (type === undefined && assertion === undefined) return undefined;
  if (type !== ASSERTION_TYPE_JWT_SPIFFE) throw new OAuthError("invalid_client_metadata", `client_assertion_type must be ${ASSERTION_TYPE_JWT_SPIFFE} at registration`);
  if (typeof assertion !== "string" || assertion === "" || assertion.length > MAX_JWT_SVID_BYTES) throw new OAuthError("invalid_client_metadata", "client_assertion must be a JWT-SVID");
  return assertion;
}

function describe(proof: ProvenIdentity["proof"]): string {
  return proof === "attested" ? "attested" : proof === "jwt-svid" ? "JWT-SVID's" : "X.509-SVID's";
}
