/**
 * When a policy change removes the binding that covered a stored upstream credential, the
 * credential is revoked at the upstream (RFC 7009, where offered) and deleted.
 */
import type { PolicySnapshot } from "../policy/index.ts";
import type { Logger } from "../log/index.ts";
import type { AuditSink } from "./audit.ts";
import type { AuthorizationCodeSource } from "./sources/authorization-code.ts";
import type { Vault, VaultEntry } from "./vault.ts";

/** Some binding of the snapshot still gives out this (source, user) credential. */
export function covered(snapshot: PolicySnapshot, entry: Pick<VaultEntry, "source" | "user">): boolean {
  return snapshot.bindings().some((b) => b.credentialSource.name === entry.source && (b.humanID === undefined || b.humanID === entry.user));
}

export async function revokeUncovered(
  d: { vault: Vault; authCode: AuthorizationCodeSource; audit: AuditSink; logger: Logger },
  snapshot: PolicySnapshot,
  previous: PolicySnapshot,
): Promise<number> {
  let n = 0;
  for (const entry of d.vault.entries()) {
    if (!covered(previous, entry) || covered(snapshot, entry)) continue;
    const { revoked } = await d.authCode.revoke(entry.source, entry.user);
    n++;
    d.audit.append({
      kind: "broker.credential_revoked",
      decision: "info",
      ...(entry.user ? { subject: entry.user } : {}),
      details: { source: entry.source, user: entry.user, reason: "binding removed from policy", upstreamRevoked: revoked },
    });
    d.logger.info("upstream credential removed with its binding", { source: entry.source, user: entry.user, upstreamRevoked: revoked });
  }
  return n;
}
