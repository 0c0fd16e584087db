/**
 * Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3):
 * `none` (a public client: client_id only, PKCE does the rest; an attested client must come from
 * its workload), `private_key_jwt` (RFC 7523), `spiffe_jwt` and `spiffe_x509`
 * (draft-ietf-oauth-spiffe-client-auth §3). The method used must be the one registered.
 * Every failure is OAuthError("invalid_client") saying what was wrong.
 */
import { decodeJwt } from "jose";
import { SvidError, verifyJwtSvid, verifyX509Svid, type BundleSource } from "../../spiffe/index.ts";
import type { AuthenticatedClient, ClientAuthInput, ClientAuthMethod } from "../types.ts";
import { invalidClient, verifyPrivateKeyJwt, type JtiCache, type JwksCache } from "./private-key-jwt.ts";
import { toOAuthClient, type ClientRecord } from "./records.ts";
import type { FetchDocumentOptions } from "./safe-fetch.ts";
import { bindingMatches } from "./spiffe-binding.ts";

export const ASSERTION_TYPE_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
export const ASSERTION_TYPE_JWT_SPIFFE = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe";

export interface ClientLookup {
  /** A registered client or a fetched metadata document; undefined when unknown. */
  record(clientId: string): Promise<ClientRecord | undefined>;
  /** The one client bound exactly to `spiffeId` with `method`; throws invalid_client when several. */
  bySpiffeId(spiffeId: string, method: ClientAuthMethod): ClientRecord | undefined;
}

export interface AuthenticateOptions {
  readonly issuer: string;
  readonly bundles: BundleSource;
  readonly lookup: ClientLookup;
  readonly jtis: JtiCache;
  readonly jwksCache: JwksCache;
  readonly fetchOptions: FetchDocumentOptions;
  readonly now: () => number;
}

export async function authenticateClient(input: ClientAuthInput, o: AuthenticateOptions): Promise<AuthenticatedClient> {
  const params = input.params;
  const clientId = params.get("client_id") ?? undefined;
  const assertionType = params.get("client_assertion_type") ?? undefined;
  const assertion = params.get("client_assertion") ?? undefined;
  const authorization = input.headers.get("authorization");
  // RFC 6749 §2.3.1: sluice never issues client secrets, so HTTP Basic cannot succeed.
  if (authorization !== null && /^basic /i.test(authorization)) throw invalidClient("sluice issues no client secrets: HTTP Basic client authentication is not supported");
  if ((assertionType === undefined) !== (assertion === undefined)) throw invalidClient("client_assertion and client_assertion_type go together (RFC 7521 §4.2)");
  if (params.has("client_secret")) throw invalidClient("sluice issues no client secrets: client_secret is not accepted");

  if (assertionType === ASSERTION_TYPE_JWT_SPIFFE) return spiffeJwt(assertion!, clientId, o);
  if (assertionType === ASSERTION_TYPE_JWT_BEARER) return privateKeyJwt(assertion!, clientId, input.endpoint, o);
  if (assertionType !== undefined) throw invalidClient(`client_assertion_type ${JSON.stringify(assertionType.slice(0, 100))} is not supported`);
  if (clientId === undefined) throw invalidClient("client_id is missing (RFC 6749 §2.3)");

  const peer = input.caller.peerCertificates;
  // draft §3.2: the client_id may be the SPIFFE ID itself; it must equal the certificate's URI SAN.
  const record = clientId.startsWith("spiffe://") ? undefined : await registered(clientId, o);
  if (record?.tokenEndpointAuthMethod === "spiffe_x509" || (record === undefined && clientId.startsWith("spiffe://"))) {
    if (!peer || peer.length === 0) throw invalidClient("this client authenticates with an X.509-SVID: connect to sluice's mTLS listener with it (spiffe_x509)");
    return spiffeX509(peer, clientId, record, o);
  }
  return publicClient(record!, input);
}

async function registered(clientId: string, o: AuthenticateOptions): Promise<ClientRecord> {
  if (clientId.length > 2048) throw invalidClient("client_id is too long");
  const record = await o.lookup.record(clientId);
  if (!record) throw invalidClient(`unknown client_id ${JSON.stringify(clientId.slice(0, 100))}: register first (RFC 7591) or use a client metadata document URL`);
  return record;
}

function expectMethod(record: ClientRecord, used: ClientAuthMethod): void {
  if (record.tokenEndpointAuthMethod !== used)
    throw invalidClient(`client ${record.clientId} is registered with token_endpoint_auth_method ${record.tokenEndpointAuthMethod}, but the request used ${used}`);
}

function publicClient(record: ClientRecord, input: ClientAuthInput): AuthenticatedClient {
  expectMethod(record, "none");
  const attested = input.caller.attestedSpiffeId;
  if (record.origin === "attested") {
    // Registered by an attested local workload: used only by that workload (no secret, the kernel vouches).
    if (attested === undefined) throw invalidClient(`client ${record.clientId} was registered by a local workload; it can only be used by that workload on this host`);
    if (!bindingMatches(record.spiffeId!, attested)) throw invalidClient(`client ${record.clientId} is bound to ${record.spiffeId}, but the calling process is ${attested}`);
    return { client: toOAuthClient(record), method: "none", spiffeId: attested };
  }
  if (attested !== undefined && record.spiffeId !== undefined && !bindingMatches(record.spiffeId, attested))
    throw invalidClient(`client ${record.clientId} is bound to ${record.spiffeId}, but the calling process is ${attested}`);
  return { client: toOAuthClient(record), method: "none" };
}

async function spiffeJwt(assertion: string, clientId: string | undefined, o: AuthenticateOptions): Promise<AuthenticatedClient> {
  let svid;
  try {
    // draft §3.1 items 1, 2, 4: well-formed, sub/aud/exp, not expired, signed by the sub's trust domain.
    svid = verifyJwtSvid(assertion, o.bundles, { audience: o.issuer, now: o.now() });
  } catch (err) {
    if (err instanceof SvidError) throw invalidClient(`JWT-SVID rejected: ${err.message}`, err);
    throw invalidClient("JWT-SVID rejected: malformed", err);
  }
  // draft §3.1 item 3: aud contains only the issuer identifier, as its sole value.
  if (svid.audience.length !== 1) throw invalidClient(`JWT-SVID rejected: aud must contain only ${o.issuer}`);
  const record = clientId === undefined || clientId === svid.spiffeId ? o.lookup.bySpiffeId(svid.spiffeId, "spiffe_jwt") : await registered(clientId, o);
  if (!record) throw invalidClient(`no client is registered for ${svid.spiffeId} with spiffe_jwt: register one (RFC 7591) first`);
  expectMethod(record, "spiffe_jwt");
  // draft §3.1 item 5: the sub matches (or is associated with) the registered client.
  if (!bindingMatches(record.spiffeId!, svid.spiffeId)) throw invalidClient(`JWT-SVID sub ${svid.spiffeId} does not match client ${record.clientId}'s spiffe_id ${record.spiffeId}`);
  return { client: toOAuthClient(record), method: "spiffe_jwt", spiffeId: svid.spiffeId };
}

function spiffeX509(peer: readonly Uint8Array[], clientId: string, known: ClientRecord | undefined, o: AuthenticateOptions): AuthenticatedClient {
  let svid;
  try {
    // draft §3.2 items 1-4: path validation to the trust domain's bundle, one URI SAN, leaf, digitalSignature.
    svid = verifyX509Svid(peer, o.bundles, { now: o.now() });
  } catch (err) {
    if (err instanceof SvidError) throw invalidClient(`client certificate rejected: ${err.message}`, err);
    throw invalidClient("client certificate rejected: malformed", err);
  }
  const record = known ?? o.lookup.bySpiffeId(clientId, "spiffe_x509");
  if (clientId.startsWith("spiffe://") && clientId !== svid.spiffeId) throw invalidClient(`client_id ${clientId} is not the certificate's SPIFFE ID ${svid.spiffeId} (draft §3.2)`);
  if (!record) throw invalidClient(`no client is registered for ${svid.spiffeId} with spiffe_x509: register one (RFC 7591) first`);
  expectMethod(record, "spiffe_x509");
  // draft §3.2 item 5.
  if (!bindingMatches(record.spiffeId!, svid.spiffeId)) throw invalidClient(`certificate SPIFFE ID ${svid.spiffeId} does not match client ${record.clientId}'s spiffe_id ${record.spiffeId}`);
  return { client: toOAuthClient(record), method: "spiffe_x509", spiffeId: svid.spiffeId };
}

async function privateKeyJwt(assertion: string, clientId: string | undefined, endpoint: string, o: AuthenticateOptions): Promise<AuthenticatedClient> {
  let iss: unknown;
  try {
    iss = decodeJwt(assertion).iss;
  } catch {
    throw invalidClient("client_assertion is not a JWT");
  }
  if (typeof iss !== "string") throw invalidClient("client_assertion has no iss");
  if (clientId !== undefined && clientId !== iss) throw invalidClient("client_id does not match the client_assertion's iss (RFC 7523 §3)");
  const record = await registered(iss, o);
  expectMethod(record, "private_key_jwt");
  await verifyPrivateKeyJwt(assertion, record, { issuer: o.issuer, endpoint, jtis: o.jtis, jwksCache: o.jwksCache, fetchOptions: o.fetchOptions, now: o.now });
  return { client: toOAuthClient(record), method: "private_key_jwt" };
}
