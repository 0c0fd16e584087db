/**
 * `StoreTokenRevoker`: the token side's `TokenRevoker`. Removing a user revokes every refresh
 * family acting for them (found through the `oauth.refresh-families.by-user` index), drops their
 * unredeemed codes, denies the live access tokens those issued by `jti`, and sets a cutoff on their
 * SPIFFE ID so that every other access token naming them (token exchange, codes without refresh)
 * is refused until it expires. Withdrawing a consent revokes the families and codes of exactly that
 * (client, user, resources, scopes). It needs only the store: the CLI uses it while serve is
 * stopped, and the verifier of a running serve reads the same databases on every call.
 */
import type { AuditLog } from "../../audit/index.ts";
import type { Store, TypedDb } from "../../store/index.ts";
import type { TokenRevoker } from "../types.ts";
import { codesDb, familiesByUserDb, refreshFamiliesDb, type CodeRecord, type RefreshFamily } from "./records.ts";
import { Revocations } from "./revocation.ts";
import { nowSeconds } from "./secrets.ts";

const MAX_ID_LENGTH = 2048;
/** Clock leeway on the cutoff's lifetime. */
const LEEWAY_SECONDS = 60;

export interface StoreTokenRevokerOptions {
  readonly store: Store;
  readonly audit: Pick<AuditLog, "append">;
  /** The longest access token lifetime (`oauth.accessTokenTtlSeconds`): how long a cutoff is kept. */
  readonly accessTokenTtlSeconds: number;
  /** The running token side's (its verifier drops revoked tokens from its cache); else a new one on `store`. */
  readonly revocations?: Revocations;
  readonly now?: () => number;
}

interface Outcome {
  families: number;
  accessTokens: number;
  codes: number;
}

export class StoreTokenRevoker implements TokenRevoker {
  readonly #store: Store;
  readonly #audit: Pick<AuditLog, "append">;
  readonly #revocations: Revocations;
  readonly #families: TypedDb<string, RefreshFamily>;
  readonly #byUser: TypedDb<string[], 1>;
  readonly #codes: TypedDb<string, CodeRecord>;
  readonly #ttl: number;
  readonly #now: () => number;

  constructor(options: StoreTokenRevokerOptions) {
    this.#store = options.store;
    this.#audit = options.audit;
    this.#revocations = options.revocations ?? new Revocations(options.store);
    this.#families = options.store.db(refreshFamiliesDb);
    this.#byUser = options.store.db(familiesByUserDb);
    this.#codes = options.store.db(codesDb);
    this.#ttl = options.accessTokenTtlSeconds;
    this.#now = options.now ?? nowSeconds;
  }

  async revokeForUser(userSpiffeId: string): Promise<number> {
    checkId(userSpiffeId, "userSpiffeId");
    const now = this.#now();
    const outcome = this.#store.transactionSync((): Outcome => {
      const out: Outcome = { families: 0, accessTokens: 0, codes: 0 };
      for (const key of [...this.#byUser.keys({ start: [userSpiffeId], end: [userSpiffeId, "\uffff"] })]) {
        this.#revokeFamily(key[1]!, "user removed", now, out);
        this.#byUser.removeSync(key);
      }
      for (const { key, value } of this.#codes.getRange()) {
        if (value.state === "issued" && [value.grant.subject, value.grant.actor, value.grant.user.spiffeId].includes(userSpiffeId)) {
          this.#codes.removeSync(key);
          out.codes++;
        } else if (value.state === "used" && value.subject === userSpiffeId) {
          out.accessTokens += value.issued.accessTokens.filter((t) => t.exp > now).length;
          this.#revocations.revokeAccess(value.issued.accessTokens, now);
          if (value.issued.familyId) this.#revokeFamily(value.issued.familyId, "user removed", now, out);
          this.#codes.putSync(key, { ...value, issued: { accessTokens: [] } });
        }
      }
      // Access tokens no family or code tracked (token exchange; `act.sub`) are refused by this cutoff.
      this.#revocations.cutSubject(userSpiffeId, now, now + this.#ttl + LEEWAY_SECONDS);
      return out;
    });
    this.#record(userSpiffeId, "user-removed", outcome);
    return outcome.families;
  }

  async revokeForConsent(clientId: string, userSpiffeId: string, resources: readonly string[], scopes: readonly string[]): Promise<number> {
    checkId(clientId, "clientId");
    checkId(userSpiffeId, "userSpiffeId");
    const shape = grantShape(resources, scopes);
    const now = this.#now();
    const outcome = this.#store.transactionSync((): Outcome => {
      const out: Outcome = { families: 0, accessTokens: 0, codes: 0 };
      for (const key of [...this.#byUser.keys({ start: [userSpiffeId], end: [userSpiffeId, "\uffff"] })]) {
        const family = this.#families.get(key[1]!);
        if (!family || family.clientId !== clientId || family.user?.spiffeId !== userSpiffeId || grantShape(family.resources, family.scopes) !== shape) continue;
        this.#revokeFamily(key[1]!, "consent revoked", now, out);
      }
      for (const { key, value } of this.#codes.getRange()) {
        if (value.state !== "issued") continue;
        const g = value.grant;
        if (g.clientId === clientId && g.user.spiffeId === userSpiffeId && grantShape(g.resources, g.scopes) === shape) {
          this.#codes.removeSync(key);
          out.codes++;
        }
      }
      return out;
    });
    this.#record(userSpiffeId, "consent-revoked", outcome, clientId);
    return outcome.families;
  }

  #revokeFamily(familyId: string, reason: string, now: number, out: Outcome): void {
    const family = this.#families.get(familyId);
    if (!family || family.revokedAt !== undefined) return;
    const live = family.accessTokens.filter((t) => t.exp > now).length;
    if (this.#revocations.revokeFamily(familyId, reason, now)) {
      out.families++;
      out.accessTokens += live;
    }
  }

  #record(user: string, reason: string, outcome: Outcome, clientId?: string): void {
    this.#audit.append({
      kind: "oauth.token.revoke",
      decision: "info",
      subject: user,
      details: { reason, ...(clientId ? { client_id: clientId } : {}), families: outcome.families, access_tokens: outcome.accessTokens, codes: outcome.codes },
    });
  }
}

/** Same resources and scopes in any order → same shape (a consent's identity). */
function grantShape(resources: readonly string[], scopes: readonly string[]): string {
  return JSON.stringify([[...new Set(resources)].sort(), [...new Set(scopes)].sort()]);
}

function checkId(value: string, what: string): void {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH) throw new TypeError(`TokenRevoker: ${what} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
}
