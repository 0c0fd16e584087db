/**
 * Authorization codes: issued by `/oauth2/authorize` (the users part) through `issue`, redeemed
 * once at the token endpoint. Only the code's SHA-256 is stored. Redemption is one store
 * transaction that checks and marks the code used and reserves the ids of what it will issue
 * (access token jti, refresh family), so a replay that races the first redemption still finds
 * something to revoke (RFC 6749 §4.1.2: "If an authorization code is used more than once, the
 * authorization server MUST deny the request and SHOULD revoke (when possible) all tokens
 * previously issued based on that authorization code").
 */
import type { Store, TypedDb } from "../../store/index.ts";
import { OAuthError, type AuthorizationCodes, type CodeGrant } from "../types.ts";
import { codesDb, type CodeRecord, type IssuedTokens, type UsedCode } from "./records.ts";
import type { Revocations } from "./revocation.ts";
import { decideThenCommit } from "./decide-then-commit.ts";
import { newSecret, nowSeconds, secretHash } from "./secrets.ts";

const MAX_SCOPES = 64;
const MAX_RESOURCES = 16;

export type Redemption =
  | { readonly kind: "ok"; readonly grant: CodeGrant; readonly reserved: IssuedTokens; /** Resolves when the redemption is committed: answer only then. */ readonly committed: Promise<void> }
  /** The code had been redeemed before: what it issued has now been revoked. */
  | { readonly kind: "replay"; readonly clientId: string; readonly subject: string; readonly revokedFamily: boolean; readonly revokedAccess: number };

export class CodeStore implements AuthorizationCodes {
  readonly #db: TypedDb<string, CodeRecord>;

  constructor(
    private readonly store: Store,
    private readonly revocations: Revocations,
    private readonly ttlSeconds: number,
    private readonly now: () => number = nowSeconds,
  ) {
    this.#db = store.db(codesDb);
  }

  async issue(grant: CodeGrant): Promise<string> {
    checkGrant(grant);
    const code = newSecret("");
    // The value is encoded when put() is called: later changes to `grant` by the caller do not reach the store.
    const record: CodeRecord = { state: "issued", grant, expiresAt: this.now() + this.ttlSeconds };
    // Awaited: the browser is redirected with the code right after, and the client redeems it at once.
    await this.#db.put(secretHash(code), record);
    return code;
  }

  /**
   * Marks `code` used and reserves `reserve` for it, atomically. Throws invalid_grant for an
   * unknown or expired code; returns `replay` (after revoking) for a used one.
   * `check` runs inside the transaction on an unused, unexpired code: it throws to refuse (the
   * code is then spent anyway, so a stolen code cannot be retried with other verifiers).
   */
  async redeem(
    code: string,
    reserve: IssuedTokens,
    check: (grant: CodeGrant) => OAuthError | undefined,
    /** Runs inside the transaction after a successful check (e.g. storing the refresh family). */
    onRedeem: (grant: CodeGrant) => void = () => {},
  ): Promise<Redemption> {
    const key = secretHash(code);
    const now = this.now();
    const { value: outcome, committed } = await decideThenCommit(this.store, (): Redemption | OAuthError => {
      const record = this.#db.get(key);
      if (!record) return new OAuthError("invalid_grant", "the authorization code is unknown");
      if (record.state === "used") {
        const issued = record.issued;
        const revokedFamily = issued.familyId ? this.revocations.revokeFamily(issued.familyId, "code replay", now) : false;
        this.revocations.revokeAccess(issued.accessTokens, now);
        this.#db.putSync(key, { ...record, issued: { accessTokens: [] } });
        return { kind: "replay", clientId: record.clientId, subject: record.subject, revokedFamily, revokedAccess: issued.accessTokens.length };
      }
      if (record.expiresAt <= now) {
        this.#db.removeSync(key);
        return new OAuthError("invalid_grant", "the authorization code has expired");
      }
      const grant = record.grant;
      // Issued before its user was removed: the removal covers it (see Revocations.cutSubject).
      if (this.revocations.isCut([grant.subject, grant.actor, grant.user.spiffeId], record.expiresAt - this.ttlSeconds)) {
        this.#db.removeSync(key);
        return new OAuthError("invalid_grant", "the authorization code was revoked");
      }
      const refused = check(record.grant);
      const used: UsedCode = { state: "used", clientId: record.grant.clientId, subject: record.grant.subject, expiresAt: record.expiresAt, usedAt: now, issued: refused ? { accessTokens: [] } : reserve };
      this.#db.putSync(key, used);
      if (!refused) onRedeem(record.grant);
      return refused ?? { kind: "ok", grant: record.grant, reserved: reserve, committed: Promise.resolve() };
    });
    if (!(outcome instanceof OAuthError) && outcome.kind === "ok") return { ...outcome, committed };
    // A refusal or replay changed state too (the code is spent, tokens revoked): keep it before answering.
    await committed;
    if (outcome instanceof OAuthError) throw outcome;
    return outcome;
  }

  /** Deletes codes past their expiry (used ones are kept until then, to detect replays). */
  sweep(now = this.now()): number {
    let removed = 0;
    for (const { key, value } of this.#db.getRange()) {
      // A used code stays long enough to catch replays of it for as long as what it issued lives.
      const keepUntil = value.state === "used" ? Math.max(value.expiresAt, ...value.issued.accessTokens.map((t) => t.exp)) : value.expiresAt;
      if (keepUntil <= now) {
        void this.#db.remove(key);
        removed++;
      }
    }
    return removed;
  }
}

/** The authorize side hands over a checked grant; these are the invariants the token side relies on. */
function checkGrant(grant: CodeGrant): void {
  const bad = (what: string) => new TypeError(`AuthorizationCodes.issue: ${what}`);
  if (!grant || typeof grant.clientId !== "string" || grant.clientId === "") throw bad("clientId is required");
  if (typeof grant.redirectUri !== "string" || grant.redirectUri === "") throw bad("redirectUri is required");
  // RFC 7636 §4.2: S256 challenge = BASE64URL(SHA256(verifier)) = 43 characters.
  if (typeof grant.codeChallenge !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(grant.codeChallenge)) throw bad("codeChallenge must be an S256 challenge (43 base64url characters)");
  if (!Array.isArray(grant.scopes) || grant.scopes.length > MAX_SCOPES) throw bad(`scopes must be an array of at most ${MAX_SCOPES}`);
  if (!Array.isArray(grant.resources) || grant.resources.length > MAX_RESOURCES) throw bad(`resources must be an array of at most ${MAX_RESOURCES}`);
  if (typeof grant.subject !== "string" || grant.subject === "") throw bad("subject is required");
  if (!grant.user || typeof grant.user.spiffeId !== "string") throw bad("user is required");
  if (!Number.isInteger(grant.authTime)) throw bad("authTime must be seconds since the epoch");
}
