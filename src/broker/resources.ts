/** Resource URLs (RFC 8707) ↔ the policy's Services, and the challenge that restarts an agent's flow. */
import type { CompiledService, PolicySnapshot } from "../policy/index.ts";
import { protectedResourceMetadataUrl } from "./discovery.ts";

/** The Services listening at the resource URL's host and port (empty for a malformed or unmanaged URL). */
export function servicesForResource(snapshot: PolicySnapshot, resource: string): readonly CompiledService[] {
  let u: URL;
  try {
    u = new URL(resource);
  } catch {
    return [];
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return [];
  const port = u.port === "" ? (u.protocol === "https:" ? 443 : 80) : Number(u.port);
  return snapshot.servicesAt(u.hostname, port);
}

/** The resource URL an agent uses for a connection's destination (origin only). */
export function originOf(host: string, port: number, scheme: "https" | "http"): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const defaultPort = scheme === "https" ? 443 : 80;
  return `${scheme}://${h}${port === defaultPort ? "" : `:${port}`}`;
}

/** RFC 9728 §5.1 / RFC 6750 §3: the challenge that sends an agent through the authorization flow again. */
export function bearerChallenge(resource: string, error: "invalid_token" | undefined, description: string): string {
  const parts = [`resource_metadata="${protectedResourceMetadataUrl(resource)}"`];
  if (error) parts.unshift(`error="${error}"`, `error_description="${description.replace(/["\\]/g, "'")}"`);
  return `Bearer ${parts.join(", ")}`;
}
