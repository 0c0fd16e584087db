import { createHash } from "node:crypto";
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
  constructor(private readonly store: Store) {
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
    const space = id.lastIndexOf(" ");
    return this.store.transactionSync(() => {
      if (space > 0) return this.#db.removeSync([user, id.slice(0, space), id.slice(space + 1)]) ? 1 : 0;
      let n = 0;
      for (const key of [...this.#db.keys({ start: [user, id], end: [user, id, "\uffff"] })]) if (this.#db.removeSync(key)) n++;
      return n;
    });
  }
}
