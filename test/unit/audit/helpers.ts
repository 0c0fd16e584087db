import { open, type Database } from "lmdb";
import { join } from "node:path";
import { AuditLog, type AuditInput } from "../../../src/audit/index.ts";
import { openStore, type Store } from "../../../src/store/index.ts";

export { tempRoot, rejection, thrown, isRoot } from "../store/helpers.ts";

export async function openLog(dataDir: string, options: { readOnly?: boolean; mirrorPath?: string | null } = {}): Promise<{ store: Store; log: AuditLog; close(): Promise<void> }> {
  const store = await openStore({ dataDir, readOnly: options.readOnly });
  const log = await AuditLog.open(store, { mirrorPath: options.mirrorPath, pollIntervalMs: 20 });
  return {
    store,
    log,
    async close() {
      await log.close();
      await store.close();
    },
  };
}

export function event(i: number): AuditInput {
  return {
    kind: i % 2 ? "egress.deny" : "egress.allow",
    decision: i % 2 ? "deny" : "allow",
    subject: "spiffe://acme.corp/claude",
    pid: 4000 + i,
    uid: 1000,
    details: { i, dest: `10.0.0.${i % 250}:443` },
  };
}

/** Write `n` events with a fresh writer and close it. */
export async function writeEvents(dataDir: string, n: number, from = 1): Promise<void> {
  const { log, close } = await openLog(dataDir);
  for (let i = from; i < from + n; i++) log.append(event(i));
  await close();
}

/**
 * Edit the LMDB file as an attacker with root but without master.key would: through lmdb itself,
 * bypassing sluice's store and audit code. The store must be closed.
 */
export async function tamperLmdb(dataDir: string, edit: (audit: Database<string, number>, meta: Database<any, string>) => void): Promise<void> {
  const root = open({ path: join(dataDir, "store"), maxDbs: 64 });
  const audit = root.openDB<string, number>({ name: "audit", keyEncoding: "uint32", encoding: "string" });
  const meta = root.openDB<any, string>({ name: "meta" });
  root.transactionSync(() => edit(audit, meta));
  await root.close();
}
