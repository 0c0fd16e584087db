/**
 * What the token side keeps in LMDB: hashes of codes and refresh tokens, never the secrets.
 * A refresh token is `slr_<familyId>.<secret>`: its family record holds the hash of the current
 * secret and of the recently rotated ones, so a rotation is one write.
 */
import { defineDatabase } from "../../store/index.ts";
import type { CodeGrant } from "../types.ts";

/** What one code or refresh token issued (so a replay or reuse can revoke it). */
export interface IssuedTokens {
  /** Access token `jti`s and their `exp`. */
  readonly accessTokens: readonly { readonly jti: string; readonly exp: number }[];
  readonly familyId?: string;
}

/** A code waiting to be redeemed. */
export interface IssuedCode {
  readonly state: "issued";
  readonly grant: CodeGrant;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

/** A redeemed code: kept (small) until what it issued has expired, to detect replays. */
export interface UsedCode {
  readonly state: "used";
  readonly clientId: string;
  readonly subject: string;
  readonly expiresAt: number;
  readonly usedAt: number;
  /** Reserved when the code is redeemed, in the same transaction (see codes.ts). */
  readonly issued: IssuedTokens;
}

export type CodeRecord = IssuedCode | UsedCode;

/** The grant a refresh-token family carries forward; rotation never widens it (RFC 6749 §6). */
export interface RefreshFamily {
  readonly clientId: string;
  readonly subject: string;
  readonly actor?: string;
  readonly user?: { readonly name: string; readonly spiffeId: string };
  readonly scopes: readonly string[];
  readonly resources: readonly string[];
  readonly authTime?: number;
  readonly createdAt: number;
  /** SHA-256 of the current refresh token's secret. */
  readonly currentHash: string;
  /** Hashes of rotated tokens (the newest few): presenting one of them is reuse. */
  readonly previousHashes: readonly string[];
  /** The current token's expiry. */
  readonly expiresAt: number;
  readonly revokedAt?: number;
  readonly revokedReason?: string;
  /** Live access tokens issued from this family (pruned when expired). */
  readonly accessTokens: readonly { readonly jti: string; readonly exp: number }[];
}

export const codesDb = defineDatabase<string, CodeRecord>({ name: "oauth.codes" });
export const refreshFamiliesDb = defineDatabase<string, RefreshFamily>({ name: "oauth.refresh-families" });
/** Revoked access token `jti` → its `exp` (kept until then). */
export const revokedAccessDb = defineDatabase<string, number>({ name: "oauth.revoked-access" });
/** [user SPIFFE ID, familyId] for the subject, actor and consenting user of each family (revocation by user). */
export const familiesByUserDb = defineDatabase<string[], 1>({ name: "oauth.refresh-families.by-user" });

/** Every access token naming this SPIFFE ID (as `sub` or in `act`) issued at or before `before` is refused. */
export interface SubjectCutoff {
  readonly before: number;
  /** Kept until then: no token issued before `before` lives longer. */
  readonly until: number;
}
/** SPIFFE ID of a removed user → cutoff (denies access tokens that were not tracked by jti, e.g. token exchange). */
export const revokedSubjectsDb = defineDatabase<string, SubjectCutoff>({ name: "oauth.revoked-subjects" });
