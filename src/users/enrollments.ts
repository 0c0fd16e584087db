import type { Store } from "../store/index.ts";
import { accountsDb, enrollmentsDb, type EnrollmentRecord } from "./db.ts";
import { UserError } from "./names.ts";
import { hashToken, nowSeconds, randomToken } from "./secrets.ts";

export const MAX_OPEN_ENROLLMENTS_PER_USER = 5;
/** Tokens are 43 base64url characters; anything else is not one of ours. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** One-time enrollment links: only the token's hash is stored; consuming it is atomic and single use. */
export class Enrollments {
  readonly #db;
  readonly #accounts;
  constructor(
    private readonly store: Store,
    private readonly ttlSeconds: number,
  ) {
    this.#db = store.db(enrollmentsDb);
    this.#accounts = store.db(accountsDb);
  }

  /** A fresh token for `user` (returned once, never stored). */
  create(user: string): { token: string; expiresAt: number } {
    const token = randomToken(32);
    const now = nowSeconds();
    const record: EnrollmentRecord = { user, createdAt: now, expiresAt: now + this.ttlSeconds };
    this.store.transactionSync(() => {
      if (!this.#accounts.has(user)) throw new UserError("ERR_USER_NOT_FOUND", `no user ${user} (see \`sluice user list\`)`);
      const open = [...this.#db.getRange()].filter((e) => e.value.user === user);
      for (const e of open) if (e.value.expiresAt <= now) this.#db.removeSync(e.key);
      if (open.filter((e) => e.value.expiresAt > now).length >= MAX_OPEN_ENROLLMENTS_PER_USER) {
        throw new UserError("ERR_ENROLLMENT_LIMIT", `${user} already has ${MAX_OPEN_ENROLLMENTS_PER_USER} open enrollment links; wait for them to expire`);
      }
      this.#db.putSync(hashToken(token), record);
    });
    return { token, expiresAt: record.expiresAt };
  }

  /** The enrollment a token stands for, if it is valid now (does not use it up). */
  peek(token: string): EnrollmentRecord | undefined {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const record = this.#db.get(hashToken(token));
    return record && record.expiresAt > nowSeconds() && this.#accounts.has(record.user) ? record : undefined;
  }

  /** Uses the token up: returns its enrollment once, undefined afterwards or when expired. */
  consume(token: string): EnrollmentRecord | undefined {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const key = hashToken(token);
    return this.store.transactionSync(() => {
      const record = this.#db.get(key);
      if (!record) return undefined;
      this.#db.removeSync(key);
      return record.expiresAt > nowSeconds() && this.#accounts.has(record.user) ? record : undefined;
    });
  }

  /** Drops expired links (called periodically). */
  sweep(): number {
    const now = nowSeconds();
    let removed = 0;
    for (const { key, value } of this.#db.getRange()) if (value.expiresAt <= now) void this.#db.remove(key), removed++;
    return removed;
  }
}
