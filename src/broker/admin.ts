/**
 * Operator actions on stored credentials (`sluice credentials revoke`): revoke at the upstream
 * where it offers RFC 7009 revocation, then delete. Runs on the store directly (offline) or inside
 * `sluice serve` (Broker.revokeCredentials) so its in-memory copy stays coherent.
 */
import type { Logger } from "../log/index.ts";
import type { AuditSink } from "./audit.ts";
import type { UpstreamHttp } from "./http.ts";
import { revokeUpstream } from "./sources/authorization-code.ts";
import type { Vault } from "./vault.ts";

export interface RevokedCredential {
  readonly source: string;
  readonly user: string;
  /** The upstream confirmed revocation (false: no revocation endpoint, or it failed; deleted anyway). */
  readonly upstreamRevoked: boolean;
}

export async function revokeStoredCredentials(
  d: { vault: Vault; http: UpstreamHttp; audit: AuditSink; logger: Logger },
  source: string,
  user?: string,
  by = "operator",
): Promise<RevokedCredential[]> {
  const out: RevokedCredential[] = [];
  for (const entry of d.vault.entries()) {
    if (entry.source !== source || (user !== undefined && entry.user !== user)) continue;
    const opened = d.vault.get(entry.source, entry.user);
    const upstreamRevoked = opened ? await revokeUpstream(d.http, opened, d.logger) : false;
    await d.vault.remove(entry.source, entry.user);
    d.audit.append({
      kind: "broker.credential_revoked",
      decision: "info",
      ...(entry.user ? { subject: entry.user } : {}),
      details: { source: entry.source, user: entry.user, reason: `revoked by ${by}`, upstreamRevoked },
    });
    out.push({ source: entry.source, user: entry.user, upstreamRevoked });
  }
  return out;
}
