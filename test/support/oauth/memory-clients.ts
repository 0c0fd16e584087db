/**
 * A small in-memory ClientRegistry for the token side's tests, standing in for the clients part
 * (src/oauth/clients) until it is done. It does real checks, not canned answers:
 * - `none`: public client, identified by `client_id`; any other credential is refused.
 * - `private_key_jwt` (RFC 7523 §2.2, §3): `client_assertion` signed with the client's registered
 *   public key, `iss` = `sub` = client_id, `aud` = issuer or endpoint, unexpired, `jti` single use.
 * - `spiffe_jwt` (draft-ietf-oauth-spiffe-client-auth): a JWT-SVID verified with the trust
 *   domain's bundles (`aud` = issuer), bound to the client's `spiffeId` (exact or `/*` prefix).
 */
import { jwtVerify, type CryptoKey, type KeyObject } from "jose";
import { verifyJwtSvid, type BundleSource } from "../../../src/spiffe/index.ts";
import { OAuthError, type AuthenticatedClient, type ClientAuthInput, type ClientRegistry, type OAuthClient } from "../../../src/oauth/index.ts";

export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
export const JWT_SPIFFE = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe";

export class MemoryClientRegistry implements ClientRegistry {
  readonly #clients = new Map<string, OAuthClient>();
  readonly #keys = new Map<string, CryptoKey | KeyObject>();
  readonly #seenJti = new Set<string>();
  readonly touched: string[] = [];

  constructor(
    private readonly issuer: string,
    private readonly bundles: BundleSource,
  ) {}

  add(client: Partial<OAuthClient> & { clientId: string }, publicKey?: CryptoKey | KeyObject): OAuthClient {
    const full: OAuthClient = {
      redirectUris: [],
      grantTypes: ["authorization_code", "refresh_token"],
      responseTypes: ["code"],
      tokenEndpointAuthMethod: "none",
      applicationType: "native",
      origin: "dynamic",
      createdAt: Math.floor(Date.now() / 1000),
      ...client,
    };
    this.#clients.set(full.clientId, full);
    if (publicKey) this.#keys.set(full.clientId, publicKey);
    return full;
  }

  async get(clientId: string): Promise<OAuthClient | undefined> {
    return this.#clients.get(clientId);
  }

  async authenticate({ params, headers, endpoint }: ClientAuthInput): Promise<AuthenticatedClient> {
    if (headers.get("authorization")?.startsWith("Basic ")) throw invalid("client_secret_basic is not supported by sluice");
    const assertionType = params.get("client_assertion_type");
    const assertion = params.get("client_assertion");
    if (assertionType === JWT_SPIFFE && assertion) return this.#spiffe(assertion, params.get("client_id"));
    if (assertionType === JWT_BEARER && assertion) return await this.#privateKeyJwt(assertion, endpoint, params.get("client_id"));
    if (assertionType || assertion) throw invalid("unsupported client_assertion_type");
    const clientId = params.get("client_id");
    if (!clientId) throw invalid("client authentication is required (client_id for a public client)");
    const client = this.#clients.get(clientId);
    if (!client) throw invalid(`client ${clientId} is not registered`);
    if (client.tokenEndpointAuthMethod !== "none") throw invalid(`client ${clientId} must authenticate with ${client.tokenEndpointAuthMethod}`);
    return { client, method: "none" };
  }

  redirectUriAllowed(client: OAuthClient, redirectUri: string): boolean {
    return client.redirectUris.includes(redirectUri);
  }

  touch(clientId: string): void {
    this.touched.push(clientId);
  }

  async #privateKeyJwt(assertion: string, endpoint: string, claimedId: string | null): Promise<AuthenticatedClient> {
    const [, payload] = assertion.split(".");
    let iss: unknown;
    try {
      iss = JSON.parse(Buffer.from(payload ?? "", "base64url").toString()).iss;
    } catch {
      throw invalid("client_assertion is not a JWT");
    }
    const client = typeof iss === "string" ? this.#clients.get(iss) : undefined;
    const key = client ? this.#keys.get(client.clientId) : undefined;
    if (!client || !key || client.tokenEndpointAuthMethod !== "private_key_jwt") throw invalid("client_assertion names no private_key_jwt client");
    if (claimedId !== null && claimedId !== client.clientId) throw invalid("client_id does not match the assertion");
    try {
      const { payload: claims } = await jwtVerify(assertion, key, { issuer: client.clientId, subject: client.clientId, audience: [this.issuer, endpoint], requiredClaims: ["exp", "jti"] });
      if (this.#seenJti.has(claims.jti!)) throw invalid("client_assertion jti was used before (RFC 7523 §3)");
      this.#seenJti.add(claims.jti!);
    } catch (err) {
      if (err instanceof OAuthError) throw err;
      throw invalid(`client_assertion rejected: ${(err as Error).message}`);
    }
    return { client, method: "private_key_jwt" };
  }

  #spiffe(assertion: string, claimedId: string | null): AuthenticatedClient {
    let spiffeId: string;
    try {
      spiffeId = verifyJwtSvid(assertion, this.bundles, { audience: this.issuer }).spiffeId;
    } catch (err) {
      throw invalid(`JWT-SVID rejected: ${(err as Error).message}`);
    }
    const client = [...this.#clients.values()].find((c) => (claimedId === null || c.clientId === claimedId) && c.spiffeId !== undefined && bound(c.spiffeId, spiffeId));
    if (!client) throw invalid(`no client is bound to ${spiffeId}`);
    return { client, method: "spiffe_jwt", spiffeId };
  }
}

function bound(pattern: string, id: string): boolean {
  return pattern.endsWith("/*") ? id.startsWith(pattern.slice(0, -1)) : pattern === id;
}

function invalid(description: string): OAuthError {
  return new OAuthError("invalid_client", description);
}
