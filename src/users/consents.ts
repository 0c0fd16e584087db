import { createHash } from "node:crypto";
import type { TokenRevoker } from "../oauth/types.ts";
import type { Store } from "../store/index.ts";
import { consentsDb, type ConsentRecord } from "./db.ts";
import { nowSeconds } from "./secrets.ts";

export const MAX_CONSENTS_PER_USER = 1000;

/** Same resources and scopes in any order → same key. */
export function consentKey(resources: readonly string[], scopes: readonly string[]): string {
  const canonical = JSON.stringify([[...new Set(resources)].sort(), [...new Set(scopes)].sort()]);
  return createHash("sha256").update(canonical).digest("base64url");
}

/**
 * Remembered consent per (client, user, resources, scopes): a request is covered only by an exact
 * earlier answer, never by a broader or narrower one.
 */
export class Consents {
  readonly #db;
  /** `revoker`: what `withdraw` revokes the tokens issued under a consent with. */
  constructor(
    private readonly store: Store,
    private readonly revoker?: TokenRevoker,
  ) {
    this.#db = store.db(consentsDb);
  }

  has(user: string, clientId: string, resources: readonly string[], scopes: readonly string[]): boolean {
    return this.#db.has([user, clientId, consentKey(resources, scopes)]);
  }

  async remember(user: string, clientId: string, resources: readonly string[], scopes: readonly string[]): Promise<void> {
    if (this.#db.count({ start: [user], end: [user, "\uffff"] }) >= MAX_CONSENTS_PER_USER) return;
    const record: ConsentRecord = { user, clientId, resources: [...resources].sort(), scopes: [...scopes].sort(), grantedAt: nowSeconds() };
    await this.#db.put([user, clientId, consentKey(resources, scopes)], record);
  }

  list(user: string): (ConsentRecord & { id: string })[] {
    return [...this.#db.getRange({ start: [user], end: [user, "\uffff"] })].map(({ key, value }) => ({ ...value, id: `${key[1]} ${key[2]}` }));
  }

  /** Revokes one consent (`id` from `list`), or all of a client's for the user when `id` is a bare client id. Returns how many. */
  revoke(user: string, id: string): number {
    return this.#remove(user, id).length;
  }

  /**
   * Like `revoke`, and then revokes the tokens issued under each removed consent (refresh
   * families and unredeemed codes of the same client, user, resources and scopes). Returns how
   * many consents were removed and how many refresh families were revoked.
   */
  async withdraw(user: { readonly name: string; readonly spiffeId: string }, id: string): Promise<{ consents: number; families: number }> {
    if (!this.revoker) throw new TypeError("Consents.withdraw needs the TokenRevoker (new Consents(store, revoker))");
    const removed = this.#remove(user.name, id);
    let families = 0;
    for (const c of removed) families += await this.revoker.revokeForConsent(c.clientId, user.spiffeId, c.resources, c.scopes);
    return { consents: removed.length, families };
  }

  #remove(user: string, id: string): ConsentRecord[] {
    const space = id.lastIndexOf(" ");
    return this.store.transactionSync(() => {
      const keys = space > 0 ? [[user, id.slice(0, space), id.slice(space + 1)]] : [...this.#db.keys({ start: [user, id], end: [user, id, "\uffff"] })];
      const removed: ConsentRecord[] = [];
      for (const key of keys) {
        const record = this.#db.get(key);
        if (record && this.#db.removeSync(key)) removed.push(record);
      }
      return removed;
    });
  }
}
