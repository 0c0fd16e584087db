import { join } from "node:path";

/** Where serve's admin channel lives in the data dir (0700): the socket and its bearer token, both 0600. */
export const ADMIN_FILES = { socket: "admin.sock", token: "admin.token" } as const;

export function adminPaths(dataDir: string): { socket: string; token: string } {
  return { socket: join(dataDir, ADMIN_FILES.socket), token: join(dataDir, ADMIN_FILES.token) };
}

/** Largest request body the socket accepts. */
export const MAX_ADMIN_BODY = 16 * 1024;

/** The CLI's longest wait for a reply (credentials revoke: one upstream revocation per credential). */
export const ADMIN_LONGEST_CALL_MS = 120_000;

/** The socket keeps a quiet connection this long (seconds; Bun's limit is 255), past the CLI's longest wait. */
export const ADMIN_IDLE_TIMEOUT_SECONDS = 130;
