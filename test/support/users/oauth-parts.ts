/**
 * Small in-memory implementations of the AS seams the users area depends on (ClientRegistry,
 * AuthorizationCodes, ResourceValidator), with the real checks (exact redirect URIs with the RFC
 * 8252 loopback port rule, PKCE S256 on redemption, single-use codes, RFC 8707 resource syntax),
 * so the users tests do not depend on the other parts' progress.
 */
import { createHash, randomBytes } from "node:crypto";
import { OAuthError, type AuthenticatedClient, type AuthorizationCodes, type ClientRegistry, type CodeGrant, type OAuthClient, type ResourceValidator } from "../../../src/oauth/types.ts";

export class MemoryClients implements ClientRegistry {
  readonly clients = new Map<string, OAuthClient>();
  readonly touched: string[] = [];

  register(client: Partial<OAuthClient> & { clientId: string; redirectUris: string[] }): OAuthClient {
    const full: OAuthClient = { grantTypes: ["authorization_code", "refresh_token"], responseTypes: ["code"], tokenEndpointAuthMethod: "none", applicationType: "native", origin: "dynamic", createdAt: Math.floor(Date.now() / 1000), ...client };
    this.clients.set(full.clientId, full);
    return full;
  }

  async get(clientId: string): Promise<OAuthClient | undefined> {
    return this.clients.get(clientId);
  }

  async authenticate(): Promise<AuthenticatedClient> {
    throw new OAuthError("invalid_client", "client authentication is not part of the users tests");
  }

  redirectUriAllowed(client: OAuthClient, redirectUri: string): boolean {
    if (client.redirectUris.includes(redirectUri)) return true;
    let given: URL;
    try {
      given = new URL(redirectUri);
    } catch {
      return false;
    }
    // RFC 8252 §7.3: loopback http redirect URIs match with any port.
    if (given.protocol !== "http:" || !["127.0.0.1", "[::1]", "localhost"].includes(given.hostname)) return false;
    return client.redirectUris.some((r) => {
      const reg = new URL(r);
      reg.port = given.port;
      return reg.href === given.href;
    });
  }

  touch(clientId: string): void {
    this.touched.push(clientId);
  }
}

export class MemoryCodes implements AuthorizationCodes {
  readonly #grants = new Map<string, CodeGrant>();
  readonly issued: CodeGrant[] = [];

  async issue(grant: CodeGrant): Promise<string> {
    const code = randomBytes(32).toString("base64url");
    this.#grants.set(hash(code), grant);
    this.issued.push(grant);
    return code;
  }

  /** What the token endpoint would do: single use, same client and redirect URI, PKCE S256 (RFC 7636 §4.6). */
  redeem(code: string, input: { clientId: string; redirectUri: string; verifier: string }): CodeGrant {
    const key = hash(code);
    const grant = this.#grants.get(key);
    this.#grants.delete(key);
    if (!grant) throw new OAuthError("invalid_grant", "unknown or used code");
    if (grant.clientId !== input.clientId || grant.redirectUri !== input.redirectUri) throw new OAuthError("invalid_grant", "code issued to another client or redirect URI");
    if (createHash("sha256").update(input.verifier).digest("base64url") !== grant.codeChallenge) throw new OAuthError("invalid_grant", "PKCE verifier does not match");
    return grant;
  }
}

export class MemoryResources implements ResourceValidator {
  constructor(readonly allowed: readonly string[]) {}

  validate(resource: string): string {
    let url: URL;
    try {
      url = new URL(resource);
    } catch {
      throw new OAuthError("invalid_target", `resource ${JSON.stringify(resource.slice(0, 80))} is not an absolute URI (RFC 8707 §2)`);
    }
    if (url.hash) throw new OAuthError("invalid_target", "resource must not have a fragment (RFC 8707 §2)");
    const canonical = url.href.endsWith("/") && url.pathname === "/" ? url.href.slice(0, -1) : url.href;
    if (!this.allowed.includes(canonical)) throw new OAuthError("invalid_target", `sluice issues no tokens for ${canonical}`);
    return canonical;
  }
}

function hash(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** A PKCE pair (RFC 7636 §4.1–4.2). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}
