/**
 * uid → user name and gid → group name from /etc/passwd and /etc/group, parsed once and parsed
 * again only when the file changes (mtime, ctime, size, inode). Only local accounts are known:
 * users from NSS services (LDAP, sssd) have no name here, so `process:user`/`process:group` never
 * match them; use `process:uid`/`process:gid`. The first line for an id wins, as getpwuid(3) does.
 * The files are stat'ed at most once per `recheckMs` (default 1 s): an edit is seen within that.
 */
import { readFileSync, statSync } from "node:fs";

export interface AccountPaths {
  passwd: string;
  group: string;
}

export const DEFAULT_ACCOUNT_PATHS: AccountPaths = { passwd: "/etc/passwd", group: "/etc/group" };

/** `name:x:id:…` lines → id → name (first wins). Malformed lines and comments are skipped. */
export function parseIdNames(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#") || line.startsWith("+") || line.startsWith("-")) continue;
    const fields = line.split(":");
    const name = fields[0];
    const idText = fields[2];
    if (!name || idText === undefined || !/^\d+$/.test(idText)) continue;
    const id = Number(idText);
    if (!out.has(id)) out.set(id, name);
  }
  return out;
}

class IdNameFile {
  #stamp = "";
  #checkedAt = Number.NEGATIVE_INFINITY;
  #names = new Map<number, string>();
  constructor(
    readonly path: string,
    readonly recheckMs: number,
  ) {}

  /** The current table, re-read when the file changed since it was last read. */
  table(): Map<number, string> {
    const now = performance.now();
    if (now - this.#checkedAt < this.recheckMs) return this.#names;
    this.#checkedAt = now;
    let stamp: string;
    try {
      const st = statSync(this.path, { bigint: true });
      stamp = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch {
      stamp = "missing";
    }
    if (stamp !== this.#stamp) {
      this.#names = stamp === "missing" ? new Map() : parseIdNames(readFileSync(this.path, "utf8"));
      this.#stamp = stamp;
    }
    return this.#names;
  }
}

/** Cached local account names; one instance per Attestor. */
export class AccountNames {
  readonly #users: IdNameFile;
  readonly #groups: IdNameFile;

  constructor(paths: AccountPaths = DEFAULT_ACCOUNT_PATHS, recheckMs = 1000) {
    this.#users = new IdNameFile(paths.passwd, recheckMs);
    this.#groups = new IdNameFile(paths.group, recheckMs);
  }

  /** Both tables, checked for changes once (call once per attestation). */
  snapshot(): { user(uid: number): string | undefined; group(gid: number): string | undefined } {
    const users = this.#users.table();
    const groups = this.#groups.table();
    return { user: (uid) => users.get(uid), group: (gid) => groups.get(gid) };
  }
}
