/**
 * Finding the MCP server's real authorization server: RFC 9728 protected resource metadata of the
 * resource, then RFC 8414 (or OIDC Discovery) metadata of the AS it names; or the endpoints written
 * in the CredentialSource.
 */
import { isIP } from "node:net";
import { specialUseReason } from "../oauth/clients/index.ts";
import { isLoopbackHost } from "../policy/index.ts";
import { BrokerError } from "./errors.ts";
import type { UpstreamHttp } from "./http.ts";

export interface UpstreamServer {
  /** The AS issuer identifier (undefined when the endpoints were configured and not discovered). */
  readonly issuer?: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly registrationEndpoint?: string;
  readonly revocationEndpoint?: string;
  /** RFC 9207 §3: the AS promises `iss` in authorization responses. */
  readonly issParameterSupported: boolean;
  readonly authMethods: readonly string[];
}

/** RFC 9728 §3.1: the well-known suffix goes between the host and the path. */
export function protectedResourceMetadataUrl(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === "/" ? "" : u.pathname.replace(/\/$/, "");
  return `${u.origin}/.well-known/oauth-protected-resource${path}`;
}

/** RFC 8414 §3.1 (path-inserted), then OIDC Discovery 1.0 §4 (path-appended). */
function authorizationServerMetadataUrls(issuer: string): string[] {
  const u = new URL(issuer);
  const path = u.pathname === "/" ? "" : u.pathname.replace(/\/$/, "");
  return [
    `${u.origin}/.well-known/oauth-authorization-server${path}`,
    `${u.origin}/.well-known/openid-configuration${path}`,
    `${u.origin}${path}/.well-known/openid-configuration`,
  ];
}

export async function discoverFromResource(http: UpstreamHttp, resource: string): Promise<UpstreamServer> {
  const urls = [protectedResourceMetadataUrl(resource)];
  const root = `${new URL(resource).origin}/.well-known/oauth-protected-resource`;
  if (urls[0] !== root) urls.push(root);
  let issuer: string | undefined;
  for (const url of urls) {
    const { status, body } = await http.getJson(url).catch((err) => {
      if (err instanceof BrokerError && err.code === "ERR_BROKER_UPSTREAM") return { status: 0, body: {} as Record<string, unknown> };
      throw err;
    });
    if (status !== 200) continue;
    // RFC 9728 §3.3: metadata whose `resource` is not the resource asked about MUST NOT be used.
    if (!describesResource(body.resource, resource)) {
      throw new BrokerError("ERR_BROKER_DISCOVERY", `protected resource metadata at ${url} is for resource ${JSON.stringify(String(body.resource).slice(0, 200))}, not ${resource} (RFC 9728 §3.3)`);
    }
    const servers = body.authorization_servers;
    if (Array.isArray(servers) && typeof servers[0] === "string") {
      issuer = servers[0];
      break;
    }
  }
  if (issuer === undefined) {
    throw new BrokerError("ERR_BROKER_DISCOVERY", `no protected resource metadata with authorization_servers for ${resource} (looked at ${urls.join(", ")}); set the endpoints in the CredentialSource`);
  }
  noMoreInternal(resource, issuer, "the authorization server its protected resource metadata names");
  return discoverIssuer(http, issuer);
}

/** Why `url`'s host is internal (loopback, private, link-local, …), or undefined for a public or DNS host. */
function internalReason(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined; // not a URL: the fetch itself refuses it
  }
  if (isLoopbackHost(host)) return "loopback";
  const bare = host.replace(/^\[|\]$/g, "");
  return isIP(bare) ? specialUseReason(bare) : undefined;
}

/**
 * SSRF guard (the same concern as the clients' document fetch, CIMD draft §6): the metadata an
 * upstream serves chooses URLs sluice then requests, so an upstream on a public address may not
 * point sluice at a loopback or other special-use address literal. Host names are not resolved here.
 */
function noMoreInternal(from: string, to: string, what: string): void {
  const reason = internalReason(to);
  if (reason !== undefined && internalReason(from) === undefined) {
    throw new BrokerError("ERR_BROKER_DISCOVERY", `${what}, ${new URL(to).origin}, is a ${reason} address while ${new URL(from).origin} is not; sluice does not follow an upstream to internal addresses`);
  }
}

/** An https URL, or http on a loopback host. */
function webUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === "https:" || (u.protocol === "http:" && isLoopbackHost(u.hostname));
  } catch {
    return false;
  }
}

/**
 * Whether metadata naming `claimed` describes `resource`: the same origin, and `resource` is
 * `claimed` or below it (the root document may describe the whole origin, as MCP clients accept).
 */
function describesResource(claimed: unknown, resource: string): boolean {
  if (typeof claimed !== "string") return false;
  if (claimed === resource) return true;
  let c: URL;
  let r: URL;
  try {
    c = new URL(claimed);
    r = new URL(resource);
  } catch {
    return false;
  }
  if (c.origin !== r.origin || c.search !== "" || c.hash !== "") return false;
  const base = c.pathname.endsWith("/") ? c.pathname : `${c.pathname}/`;
  return r.pathname === c.pathname || `${r.pathname}/` === base || r.pathname.startsWith(base);
}

export async function discoverIssuer(http: UpstreamHttp, issuer: string): Promise<UpstreamServer> {
  if (!/^https:\/\//.test(issuer) && !/^http:\/\/(127\.|localhost|\[::1\])/.test(issuer)) {
    throw new BrokerError("ERR_BROKER_DISCOVERY", `authorization server ${issuer} is not an https URL`);
  }
  for (const url of authorizationServerMetadataUrls(issuer)) {
    const { status, body } = await http.getJson(url).catch((err) => {
      if (err instanceof BrokerError && err.code === "ERR_BROKER_UPSTREAM") return { status: 0, body: {} as Record<string, unknown> };
      throw err;
    });
    if (status !== 200) continue;
    // RFC 8414 §3.3: the issuer in the metadata MUST be identical to the one it was fetched for.
    if (body.issuer !== issuer) {
      throw new BrokerError("ERR_BROKER_DISCOVERY", `metadata at ${url} names issuer ${String(body.issuer)}, expected ${issuer} (RFC 8414 §3.3)`);
    }
    const str = (k: string) => (typeof body[k] === "string" ? (body[k] as string) : undefined);
    const authorizationEndpoint = str("authorization_endpoint");
    const tokenEndpoint = str("token_endpoint");
    if (!authorizationEndpoint || !tokenEndpoint) {
      throw new BrokerError("ERR_BROKER_DISCOVERY", `metadata at ${url} lacks authorization_endpoint or token_endpoint`);
    }
    const methods = body.code_challenge_methods_supported;
    if (Array.isArray(methods) && !methods.includes("S256")) {
      throw new BrokerError("ERR_BROKER_DISCOVERY", `${issuer} does not support PKCE S256 (code_challenge_methods_supported)`);
    }
    // RFC 6749 §3.1: the authorization endpoint requires TLS; the browser is sent there (plain http for loopback only, like every upstream URL).
    if (!webUrl(authorizationEndpoint)) throw new BrokerError("ERR_BROKER_DISCOVERY", `metadata at ${url} names authorization_endpoint ${JSON.stringify(authorizationEndpoint.slice(0, 200))}, which is not an https URL`);
    for (const key of ["token_endpoint", "registration_endpoint", "revocation_endpoint"]) {
      const endpoint = str(key);
      if (endpoint !== undefined) noMoreInternal(issuer, endpoint, `the ${key} of ${issuer}`);
    }
    const auth = body.token_endpoint_auth_methods_supported;
    return {
      issuer,
      authorizationEndpoint,
      tokenEndpoint,
      ...(str("registration_endpoint") ? { registrationEndpoint: str("registration_endpoint") } : {}),
      ...(str("revocation_endpoint") ? { revocationEndpoint: str("revocation_endpoint") } : {}),
      issParameterSupported: body.authorization_response_iss_parameter_supported === true,
      authMethods: Array.isArray(auth) ? auth.filter((m): m is string => typeof m === "string") : ["client_secret_basic"],
    };
  }
  throw new BrokerError("ERR_BROKER_DISCOVERY", `no authorization server metadata found for ${issuer}`);
}
