/**
 * Refresh tokens: opaque (`slr_<familyId>.<secret>`), rotated on every use, one family per original
 * grant. The family record keeps the SHA-256 of the current secret and of the recently rotated
 * ones: presenting a rotated token again is reuse, and the whole family is revoked with every live
 * access token it issued (RFC 9700 §4.14.2; OAuth 2.1 §4.3.1). A token whose secret matches neither
 * is just unknown (a guessed family id cannot revoke anything).
 */
import type { Store, TypedDb } from "../../store/index.ts";
import { OAuthError } from "../types.ts";
import { familiesByUserDb, refreshFamiliesDb, type RefreshFamily } from "./records.ts";
import type { Revocations } from "./revocation.ts";
import { decideThenCommit } from "./decide-then-commit.ts";
import { newId, nowSeconds, secretHash } from "./secrets.ts";
import { randomBytes } from "node:crypto";

export const REFRESH_TOKEN_PREFIX = "slr_";
/** Access tokens remembered per family (for revocation); older ones have expired long before. */
const MAX_TRACKED_ACCESS = 64;
/** Rotated secrets remembered per family for reuse detection. */
const MAX_PREVIOUS = 16;
const TOKEN = /^slr_([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export type FamilyGrant = Omit<RefreshFamily, "createdAt" | "expiresAt" | "revokedAt" | "revokedReason" | "accessTokens" | "currentHash" | "previousHashes">;

export type Rotation =
  | { readonly kind: "ok"; readonly family: RefreshFamily; readonly familyId: string; readonly refreshToken: string; /** Resolves when the rotation is committed: answer only then. */ readonly committed: Promise<void> }
  | { readonly kind: "reuse"; readonly family: RefreshFamily; readonly familyId: string; readonly revoked: boolean };

function parse(token: string): { familyId: string; hash: string } | undefined {
  const m = TOKEN.exec(token);
  return m ? { familyId: m[1]!, hash: secretHash(m[2]!) } : undefined;
}

function newSecretPart(): string {
  return randomBytes(32).toString("base64url");
}

export class RefreshTokens {
  readonly #families: TypedDb<string, RefreshFamily>;
  readonly #byUser: TypedDb<string[], 1>;

  constructor(
    private readonly store: Store,
    private readonly revocations: Revocations,
    private readonly ttlSeconds: number,
    private readonly now: () => number = nowSeconds,
  ) {
    this.#families = store.db(refreshFamiliesDb);
    this.#byUser = store.db(familiesByUserDb);
  }

  newFamilyId(): string {
    return newId();
  }

  /** The first token of a family (not yet stored). */
  newToken(familyId: string): string {
    return `${REFRESH_TOKEN_PREFIX}${familyId}.${newSecretPart()}`;
  }

  /** Stores a new family for its first token. Call inside a store transaction (the write joins it). */
  startFamily(token: string, grant: FamilyGrant, firstAccess: { jti: string; exp: number }): void {
    const parsed = parse(token);
    if (!parsed) throw new TypeError("startFamily: not a token from newToken()");
    const now = this.now();
    this.#families.putSync(parsed.familyId, { ...grant, createdAt: now, expiresAt: now + this.ttlSeconds, currentHash: parsed.hash, previousHashes: [], accessTokens: [firstAccess] });
    for (const id of familyPrincipals(grant)) this.#byUser.putSync([id, parsed.familyId], 1);
  }

  /**
   * Rotates `token` atomically (one store transaction): the family's current secret becomes the
   * new token's, and `access` (the access token about to be signed) is recorded in the family.
   * `check` refuses before any change (client mismatch, widening).
   */
  async rotate(token: string, access: { jti: string; exp: number }, check: (family: RefreshFamily) => OAuthError | undefined): Promise<Rotation> {
    const parsed = parse(token);
    if (!parsed) throw new OAuthError("invalid_grant", "the refresh token is unknown");
    const now = this.now();
    const secret = newSecretPart();
    const { value: outcome, committed } = await decideThenCommit(this.store, (): Rotation | OAuthError => {
      const family = this.#families.get(parsed.familyId);
      if (!family) return new OAuthError("invalid_grant", "the refresh token is unknown");
      const current = family.currentHash === parsed.hash;
      if (!current && !family.previousHashes.includes(parsed.hash)) return new OAuthError("invalid_grant", "the refresh token is unknown");
      if (family.revokedAt !== undefined) return new OAuthError("invalid_grant", "the refresh token was revoked");
      // A removed user's cutoff covers families created before it (e.g. from a code redeemed as the user was removed).
      if (this.revocations.isCut(familyPrincipals(family), family.createdAt)) {
        this.revocations.revokeFamily(parsed.familyId, "user removed", now);
        return new OAuthError("invalid_grant", "the refresh token was revoked");
      }
      const refused = check(family);
      if (refused) return refused;
      if (!current) {
        const revoked = this.revocations.revokeFamily(parsed.familyId, "refresh token reuse", now);
        return { kind: "reuse", family, familyId: parsed.familyId, revoked };
      }
      if (family.expiresAt <= now) return new OAuthError("invalid_grant", "the refresh token has expired");
      const updated: RefreshFamily = {
        ...family,
        currentHash: secretHash(secret),
        previousHashes: [...family.previousHashes, parsed.hash].slice(-MAX_PREVIOUS),
        expiresAt: now + this.ttlSeconds,
        accessTokens: [...family.accessTokens.filter((t) => t.exp > now), access].slice(-MAX_TRACKED_ACCESS),
      };
      this.#families.putSync(parsed.familyId, updated);
      return { kind: "ok", family: updated, familyId: parsed.familyId, refreshToken: `${REFRESH_TOKEN_PREFIX}${parsed.familyId}.${secret}`, committed: Promise.resolve() };
    });
    if (!(outcome instanceof OAuthError) && outcome.kind === "ok") return { ...outcome, committed };
    await committed;
    if (outcome instanceof OAuthError) throw outcome;
    return outcome;
  }

  /** The family of a live (current, unexpired, unrevoked) token, for introspection. */
  lookup(token: string): { familyId: string; family: RefreshFamily } | undefined {
    const parsed = parse(token);
    const family = parsed ? this.#families.get(parsed.familyId) : undefined;
    if (!parsed || !family || family.currentHash !== parsed.hash || family.expiresAt <= this.now() || family.revokedAt !== undefined) return undefined;
    return { familyId: parsed.familyId, family };
  }

  /** RFC 7009 §2.1: revoking a refresh token (current or rotated) revokes its family and its access tokens. */
  async revoke(token: string, clientId: string, reason: string): Promise<"revoked" | "unknown" | "other-client"> {
    const parsed = parse(token);
    if (!parsed) return "unknown";
    return await this.store.transaction(() => {
      const family = this.#families.get(parsed.familyId);
      if (!family || (family.currentHash !== parsed.hash && !family.previousHashes.includes(parsed.hash))) return "unknown" as const;
      // RFC 7009 §2.1: the token must have been issued to the requesting client.
      if (family.clientId !== clientId) return "other-client" as const;
      return this.revocations.revokeFamily(parsed.familyId, reason, this.now()) ? ("revoked" as const) : ("unknown" as const);
    });
  }

  sweep(now = this.now()): number {
    let removed = 0;
    for (const { key, value } of this.#families.getRange()) {
      if (value.expiresAt <= now) {
        void this.#families.remove(key);
        for (const id of familyPrincipals(value)) void this.#byUser.remove([id, key]);
        removed++;
      }
    }
    return removed;
  }
}

/** The SPIFFE IDs a family acts for: its subject, actor and consenting user. */
export function familyPrincipals(family: Pick<RefreshFamily, "subject" | "actor" | "user">): string[] {
  return [...new Set([family.subject, family.actor, family.user?.spiffeId].filter((id): id is string => id !== undefined))];
}
