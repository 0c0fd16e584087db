import type { Store } from "../store/index.ts";
import { sessionsDb, type SessionRecord } from "./db.ts";
import { hashToken, nowSeconds, randomToken } from "./secrets.ts";

export interface SessionSettings {
  readonly idleSeconds: number;
  readonly absoluteSeconds: number;
}

export interface ActiveSession {
  /** Hash of the id: what CSRF tokens bind to and what the store keys by. */
  readonly key: string;
  readonly record: SessionRecord;
}

/** Only touch `lastSeenAt` when it moved this much: a page view is not worth a disk write each. */
const TOUCH_GRANULARITY_SECONDS = 30;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Login sessions: a random id in the cookie, only its SHA-256 in LMDB; idle and absolute timeouts
 * from `users.sessionIdleSeconds` / `users.sessionAbsoluteSeconds`.
 */
export class Sessions {
  readonly #db;
  constructor(
    store: Store,
    private readonly settings: SessionSettings,
  ) {
    this.#db = store.db(sessionsDb);
  }

  /** A new session (a new id on every login: no fixation). Returns the id for the cookie. */
  async create(user: string, passkey: string): Promise<{ id: string; key: string }> {
    const id = randomToken(32);
    const now = nowSeconds();
    const key = hashToken(id);
    await this.#db.put(key, { user, passkey, authTime: now, lastSeenAt: now });
    return { id, key };
  }

  /** The live session for a cookie value, or undefined (unknown, idle too long, or too old). */
  lookup(id: string | undefined): ActiveSession | undefined {
    if (!id || !SESSION_ID.test(id)) return undefined;
    const key = hashToken(id);
    const record = this.#db.get(key);
    if (!record) return undefined;
    const now = nowSeconds();
    if (this.expired(record, now)) {
      void this.#db.remove(key);
      return undefined;
    }
    if (now - record.lastSeenAt >= TOUCH_GRANULARITY_SECONDS) void this.#db.put(key, { ...record, lastSeenAt: now });
    return { key, record };
  }

  expired(record: SessionRecord, now = nowSeconds()): boolean {
    return now - record.lastSeenAt >= this.settings.idleSeconds || now - record.authTime >= this.settings.absoluteSeconds;
  }

  async destroy(key: string): Promise<void> {
    await this.#db.remove(key);
  }

  sweep(): number {
    const now = nowSeconds();
    let removed = 0;
    for (const { key, value } of this.#db.getRange()) if (this.expired(value, now)) void this.#db.remove(key), removed++;
    return removed;
  }
}
