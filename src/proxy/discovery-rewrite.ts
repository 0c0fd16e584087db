/**
 * Discovery rewrite (DESIGN §2 step 4): for a workload whose binding to this Service uses
 * `oauth2AuthorizationCode`, RFC 9728 protected resource metadata fetched through the proxy names
 * sluice as the authorization server, so the agent runs its OAuth flow against sluice.
 *
 * - Every well-known form is claimed: `/.well-known/oauth-protected-resource` and
 *   `/.well-known/oauth-protected-resource/<resource path>` (RFC 9728 §3.1).
 * - `authorization_servers` becomes `[issuer]`; every other member, `resource` first of all, stays
 *   byte-for-byte equal in value (§3.3: the client MUST check `resource` against the URL it used).
 * - 401 challenges (§5.1): `resource_metadata` is left as it is. It points at the resource's own
 *   host, which the proxy intercepts, so the document it leads to is rewritten here when fetched;
 *   pointing it anywhere else would make the agent's §3.3 `resource` check fail. A challenge whose
 *   `resource_metadata` is on another host is reported (warning) and passed unchanged.
 * - Bodies are buffered only up to the proxy's rewrite limit; anything unparsable passes unchanged.
 */
import type { AuditInput } from "../audit/index.ts";
import type { Logger } from "../log/index.ts";
import { headerValues } from "./http/head.ts";
import type { PolicySource } from "./services.ts";
import type { ConnectionContext, RequestHead, ResponseHead, ResponseRewriter } from "./types.ts";

export interface DiscoveryRewriterOptions {
  /** sluice's issuer (config.issuer). */
  readonly issuer: string;
  readonly policy: PolicySource;
  readonly audit?: { append(input: AuditInput): unknown };
  readonly logger?: Logger;
}

const WELL_KNOWN = "/.well-known/oauth-protected-resource";

function pathOf(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

export function isProtectedResourceMetadataPath(target: string): boolean {
  const p = pathOf(target);
  return p === WELL_KNOWN || p.startsWith(WELL_KNOWN + "/");
}

/** `resource_metadata="…"` of a Bearer challenge (RFC 9728 §5.1), if any. */
export function resourceMetadataParam(wwwAuthenticate: string): string | undefined {
  const m = /(?:^|[\s,])resource_metadata\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/i.exec(wwwAuthenticate);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2];
}

export function discoveryRewriter(options: DiscoveryRewriterOptions): ResponseRewriter {
  const covered = (c: ConnectionContext): boolean => {
    const workload = c.origin.workload;
    if (!workload) return false;
    return options.policy
      .current()
      .bindings()
      .some((b) => b.workloadID === workload && b.services.includes(c.service.name) && b.credentialSource.spec.type === "oauth2AuthorizationCode");
  };

  return {
    wants(c, request, response) {
      if (response.status === 401) {
        for (const v of headerValues(response.headers, "www-authenticate")) {
          const url = resourceMetadataParam(v);
          if (url && covered(c)) {
            let host = "";
            try {
              host = new URL(url).hostname.replace(/^\[|\]$/g, "").toLowerCase();
            } catch {
              // unparsable: nothing we can do for the agent
            }
            if (host !== c.destination.host.toLowerCase() && host !== c.sni?.toLowerCase())
              options.logger?.warn("401 challenge points at protected resource metadata on another host; the agent may reach the real authorization server's metadata there", { service: c.service.name, resource_metadata: url });
          }
        }
        return false;
      }
      if (request.method !== "GET" || response.status !== 200 || !isProtectedResourceMetadataPath(request.target)) return false;
      const type = headerValues(response.headers, "content-type")[0] ?? "application/json";
      if (!/json/i.test(type)) return false;
      return covered(c);
    },

    rewrite(c, request, response, body) {
      let doc: unknown;
      try {
        doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
      } catch {
        return { head: response, body };
      }
      if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return { head: response, body };
      const original = (doc as Record<string, unknown>).authorization_servers;
      const rewritten = { ...(doc as Record<string, unknown>), authorization_servers: [options.issuer] };
      options.audit?.append({
        kind: "proxy.discovery.rewritten",
        decision: "info",
        ...(c.origin.workload ? { subject: c.origin.workload } : {}),
        details: { service: c.service.name, path: pathOf(request.target), upstreamIssuers: Array.isArray(original) ? original.filter((s) => typeof s === "string").slice(0, 8) : [], pid: c.origin.pid },
      });
      return { head: response, body: new TextEncoder().encode(JSON.stringify(rewritten)) };
    },
  };
}
