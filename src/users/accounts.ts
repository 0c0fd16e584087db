import type { Store } from "../store/index.ts";
import type { UserDirectory, UserRecord } from "../oauth/types.ts";
import { accountsDb, consentsDb, passkeysDb, sessionsDb, enrollmentsDb, type AccountRecord, type PasskeyRecord } from "./db.ts";
import { UserError, userSpiffeId, validateUserName } from "./names.ts";
import { nowSeconds, randomToken } from "./secrets.ts";

/** Limits on what one appliance keeps. */
export const ACCOUNT_LIMITS = { maxUsers: 10_000, maxPasskeysPerUser: 20, maxDisplayName: 128 } as const;

export interface AccountSettings {
  readonly trustDomain: string;
  readonly spiffeIdTemplate: string;
}

/** Users and their passkeys in LMDB; the `UserDirectory` the rest of the AS reads. */
export class UserAccounts implements UserDirectory {
  readonly #accounts;
  readonly #passkeys;
  constructor(
    private readonly store: Store,
    private readonly settings: AccountSettings,
  ) {
    this.#accounts = store.db(accountsDb);
    this.#passkeys = store.db(passkeysDb);
  }

  get(name: string): UserRecord | undefined {
    const account = this.#accounts.get(name);
    return account && toUserRecord(account);
  }

  account(name: string): AccountRecord | undefined {
    return this.#accounts.get(name);
  }

  bySpiffeId(spiffeId: string): UserRecord | undefined {
    for (const { value } of this.#accounts.getRange()) if (value.spiffeId === spiffeId) return toUserRecord(value);
    return undefined;
  }

  list(): AccountRecord[] {
    return [...this.#accounts.getRange()].map((e) => e.value);
  }

  /** Creates the account; `ERR_USER_EXISTS` if the name is taken. */
  add(name: string, options: { admin?: boolean; displayName?: string } = {}): AccountRecord {
    validateUserName(name);
    const displayName = options.displayName?.trim();
    if (displayName !== undefined && displayName.length > ACCOUNT_LIMITS.maxDisplayName) throw new UserError("ERR_USER_DISPLAY_NAME", `display name is longer than ${ACCOUNT_LIMITS.maxDisplayName} characters`);
    const record: AccountRecord = {
      name,
      spiffeId: userSpiffeId(this.settings.spiffeIdTemplate, this.settings.trustDomain, name),
      admin: options.admin ?? false,
      ...(displayName ? { displayName } : {}),
      handle: randomToken(32),
      createdAt: nowSeconds(),
    };
    this.store.transactionSync(() => {
      if (this.#accounts.has(name)) throw new UserError("ERR_USER_EXISTS", `user ${name} already exists (see \`sluice user list\`; \`sluice user enroll ${name}\` makes a new enrollment link)`);
      if (this.#accounts.count() >= ACCOUNT_LIMITS.maxUsers) throw new UserError("ERR_USER_LIMIT", `there are already ${ACCOUNT_LIMITS.maxUsers} users`);
      this.#accounts.putSync(name, record);
    });
    return record;
  }

  /** Removes the user with every passkey, session, enrollment and consent of theirs. Returns false if unknown. */
  remove(name: string): boolean {
    const sessions = this.store.db(sessionsDb);
    const enrollments = this.store.db(enrollmentsDb);
    const consents = this.store.db(consentsDb);
    return this.store.transactionSync(() => {
      if (!this.#accounts.has(name)) return false;
      this.#accounts.removeSync(name);
      for (const { key, value } of this.#passkeys.getRange()) if (value.user === name) this.#passkeys.removeSync(key);
      for (const { key, value } of sessions.getRange()) if (value.user === name) sessions.removeSync(key);
      for (const { key, value } of enrollments.getRange()) if (value.user === name) enrollments.removeSync(key);
      for (const key of consents.keys({ start: [name], end: [name, "\uffff"] })) consents.removeSync(key);
      return true;
    });
  }

  passkeys(name: string): PasskeyRecord[] {
    return [...this.#passkeys.getRange()].map((e) => e.value).filter((p) => p.user === name);
  }

  passkey(id: string): PasskeyRecord | undefined {
    return this.#passkeys.get(id);
  }

  /** Stores a newly registered passkey; refuses a credential ID that is already registered (WebAuthn §7.1 step 25). */
  addPasskey(record: PasskeyRecord): void {
    this.store.transactionSync(() => {
      if (!this.#accounts.has(record.user)) throw new UserError("ERR_USER_NOT_FOUND", `user ${record.user} no longer exists`);
      if (this.#passkeys.has(record.id)) throw new UserError("ERR_PASSKEY_EXISTS", "this passkey is already registered");
      if (this.passkeys(record.user).length >= ACCOUNT_LIMITS.maxPasskeysPerUser) throw new UserError("ERR_PASSKEY_LIMIT", `a user can have at most ${ACCOUNT_LIMITS.maxPasskeysPerUser} passkeys`);
      this.#passkeys.putSync(record.id, record);
    });
  }

  /**
   * Records a successful login's signature counter. Atomic with a re-check so two concurrent
   * logins cannot both pass with the same counter (WebAuthn §7.2 step 21).
   */
  recordPasskeyUse(id: string, expectedCounter: number, newCounter: number): boolean {
    return this.store.transactionSync(() => {
      const current = this.#passkeys.get(id);
      if (!current || current.counter !== expectedCounter) return false;
      this.#passkeys.putSync(id, { ...current, counter: newCounter, lastUsedAt: nowSeconds() });
      return true;
    });
  }

  /** Removes one passkey of `user` and the sessions it opened; false if the user has no such passkey. */
  removePasskey(user: string, id: string): boolean {
    const sessions = this.store.db(sessionsDb);
    return this.store.transactionSync(() => {
      const current = this.#passkeys.get(id);
      if (!current || current.user !== user) return false;
      this.#passkeys.removeSync(id);
      for (const { key, value } of sessions.getRange()) if (value.passkey === id) sessions.removeSync(key);
      return true;
    });
  }
}

export function toUserRecord(a: AccountRecord): UserRecord {
  return { name: a.name, spiffeId: a.spiffeId, admin: a.admin, ...(a.displayName ? { displayName: a.displayName } : {}) };
}
