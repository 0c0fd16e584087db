/** A small in-memory UserDirectory for the token side's tests (the users part implements the real one). */
import type { UserDirectory, UserRecord } from "../../../src/oauth/index.ts";

export class MemoryUserDirectory implements UserDirectory {
  readonly #byName = new Map<string, UserRecord>();

  constructor(private readonly trustDomain: string) {}

  add(name: string, more: Partial<UserRecord> = {}): UserRecord {
    const user: UserRecord = { name, spiffeId: `spiffe://${this.trustDomain}/user/${name}`, admin: false, ...more };
    this.#byName.set(name, user);
    return user;
  }

  get(name: string): UserRecord | undefined {
    return this.#byName.get(name);
  }

  bySpiffeId(spiffeId: string): UserRecord | undefined {
    for (const u of this.#byName.values()) if (u.spiffeId === spiffeId) return u;
    return undefined;
  }
}
