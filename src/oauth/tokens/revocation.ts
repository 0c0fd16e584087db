/**
 * Revocation state: access tokens are denied by `jti` until their `exp` (they are self-contained
 * JWTs, so the denylist is what every verifier consults); a refresh-token family is revoked as a
 * whole, and with it every live access token it issued.
 */
import type { Store, TypedDb } from "../../store/index.ts";
import { refreshFamiliesDb, revokedAccessDb, type RefreshFamily } from "./records.ts";

export class Revocations {
  readonly #revoked: TypedDb<string, number>;
  readonly #families: TypedDb<string, RefreshFamily>;
  readonly #listeners = new Set<(jti: string) => void>();

  constructor(store: Store) {
    this.#revoked = store.db(revokedAccessDb);
    this.#families = store.db(refreshFamiliesDb);
  }

  isRevoked(jti: string): boolean {
    return this.#revoked.has(jti);
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
    return removed;
  }
}
