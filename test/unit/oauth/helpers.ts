import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../../../src/store/index.ts";

/** A real LMDB store in a temp dir. */
export async function tempStore(): Promise<{ store: Store; cleanup(): Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), "sluice-oauth-unit-"));
  const store = await openStore({ dataDir: join(root, "data") });
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A settable clock in seconds. */
export function clock(start = 2_000_000_000): { now: () => number; advance(s: number): void } {
  let t = start;
  return { now: () => t, advance: (s) => void (t += s) };
}
