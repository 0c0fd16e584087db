/**
 * `ResourceValidator` (RFC 8707): which `resource` values this AS issues tokens for.
 * A resource is an absolute URI without a fragment (§2); sluice also requires https (http only for
 * loopback hosts), and the host:port must be an address of a Service in the current policy — or
 * the issuer itself. Query strings are allowed by §2 but discouraged; kept as given.
 */
import { isLoopbackHost, type PolicyEngine } from "../policy/index.ts";
import { OAuthError, type ResourceValidator } from "./types.ts";

const MAX_RESOURCE_LENGTH = 2048;

export class PolicyResourceValidator implements ResourceValidator {
  readonly #issuer: URL;

  constructor(
    private readonly policy: Pick<PolicyEngine, "current">,
    issuer: string,
  ) {
    this.#issuer = new URL(issuer);
  }

  validate(resource: string): string {
    if (typeof resource !== "string" || resource.length === 0) throw target("the resource is empty");
    if (resource.length > MAX_RESOURCE_LENGTH) throw target(`the resource is longer than ${MAX_RESOURCE_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(resource);
    } catch {
      throw target(`resource "${clip(resource)}" is not an absolute URI (RFC 8707 §2)`);
    }
    // RFC 8707 §2: "MUST NOT include a fragment component".
    if (resource.includes("#")) throw target(`resource "${clip(resource)}" has a fragment (RFC 8707 §2)`);
    if (url.username || url.password) throw target(`resource "${clip(resource)}" has user information`);
    const loopback = isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ""));
    if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback))
      throw target(`resource "${clip(resource)}" must use https (http only for loopback hosts)`);
    const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    // Lower-cased scheme and host, default port dropped; an empty path stays empty (MCP's canonical form).
    const canonical = url.pathname === "/" && url.search === "" && !/^[a-z]+:\/\/[^/]*\/$/i.test(resource) ? url.href.slice(0, -1) : url.href;
    if (sameOrigin(url, this.#issuer)) return canonical;
    const host = url.hostname.replace(/^\[|\]$/g, "");
    let known: boolean;
    try {
      known = this.policy.current().servicesAt(host, port).length > 0;
    } catch (err) {
      throw new OAuthError("invalid_target", `no policy is loaded, so resource "${clip(resource)}" cannot be checked`, { cause: err });
    }
    if (!known) throw target(`resource "${clip(resource)}" is not a Service in the current policy (no Service listens at ${url.host.includes(":") ? url.host : `${url.host}:${port}`})`);
    return canonical;
  }
}

function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}

function target(description: string): OAuthError {
  return new OAuthError("invalid_target", description);
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}
