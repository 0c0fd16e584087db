/**
 * Revocation state: access tokens are denied by `jti` until their `exp` (they are self-contained
 * JWTs, so the denylist is what every verifier consults); a refresh-token family is revoked as a
 * whole, and with it every live access token it issued. A removed user's SPIFFE ID gets a cutoff:
 * every access token naming it (`sub` or any `act.sub`) issued at or before the cutoff is refused,
 * including those no family tracked (token exchange).
 */
import type { Store, TypedDb } from "../../store/index.ts";
import { refreshFamiliesDb, revokedAccessDb, revokedSubjectsDb, type RefreshFamily, type SubjectCutoff } from "./records.ts";

/** Nested `act` claims followed at most this deep (the token exchange allows 8). */
const MAX_ACT_DEPTH = 16;

export class Revocations {
  readonly #revoked: TypedDb<string, number>;
  readonly #families: TypedDb<string, RefreshFamily>;
  readonly #subjects: TypedDb<string, SubjectCutoff>;
  readonly #listeners = new Set<(jti: string) => void>();

  constructor(store: Store) {
    this.#revoked = store.db(revokedAccessDb);
    this.#families = store.db(refreshFamiliesDb);
    this.#subjects = store.db(revokedSubjectsDb);
  }

  isRevoked(jti: string): boolean {
    return this.#revoked.has(jti);
  }

  /** Refuses tokens naming `spiffeId` issued at or before `before`, until `until`. Inside a transaction the write joins it. */
  cutSubject(spiffeId: string, before: number, until: number): void {
    const current = this.#subjects.get(spiffeId);
    this.#subjects.putSync(spiffeId, { before: Math.max(before, current?.before ?? 0), until: Math.max(until, current?.until ?? 0) });
  }

  /** Whether something issued at `issuedAt` for any of `spiffeIds` falls under a cutoff. */
  isCut(spiffeIds: readonly (string | undefined)[], issuedAt: number): boolean {
    for (const id of spiffeIds) {
      if (id === undefined) continue;
      const cut = this.#subjects.get(id);
      if (cut && issuedAt <= cut.before) return true;
    }
    return false;
  }

  /** An access token's `sub` and every `act.sub` (RFC 8693 §4.1), checked against the cutoffs. */
  refusesClaims(claims: { readonly sub: string; readonly iat: number; readonly act?: unknown }): boolean {
    const ids: string[] = [claims.sub];
    let act = claims.act as { sub?: unknown; act?: unknown } | undefined;
    for (let depth = 0; act && typeof act === "object" && depth < MAX_ACT_DEPTH; depth++) {
      if (typeof act.sub === "string") ids.push(act.sub);
      act = act.act as typeof act;
    }
    return this.isCut(ids, claims.iat);
  }

  /** Called for each revoked jti (the verifier drops it from its cache). */
  onRevoke(fn: (jti: string) => void): void {
    this.#listeners.add(fn);
  }

  /** Denies the access tokens; inside a store transaction the writes join it. */
  revokeAccess(tokens: readonly { readonly jti: string; readonly exp: number }[], now: number): void {
    for (const t of tokens) {
      if (t.exp <= now) continue;
      this.#revoked.putSync(t.jti, t.exp);
      for (const fn of this.#listeners) fn(t.jti);
    }
  }

  /** Revokes a family and its live access tokens; returns false if it was unknown or already revoked. Call inside a transaction. */
  revokeFamily(familyId: string, reason: string, now: number): boolean {
    const family = this.#families.get(familyId);
    if (!family || family.revokedAt !== undefined) return false;
    this.revokeAccess(family.accessTokens, now);
    this.#families.putSync(familyId, { ...family, revokedAt: now, revokedReason: reason, accessTokens: [] });
    return true;
  }

  /** Drops denylist entries whose tokens have expired anyway. */
  sweep(now: number): number {
    let removed = 0;
    for (const { key, value } of this.#revoked.getRange()) {
      if (value <= now) {
        void this.#revoked.remove(key);
        removed++;
      }
    }
    for (const { key, value } of this.#subjects.getRange()) {
      if (value.until <= now) {
        void this.#subjects.remove(key);
        removed++;
      }
    }
    return removed;
  }
}
