import { defineDatabase, type Store } from "../store/index.ts";
import type { PolicySourceFile } from "../policy/index.ts";

/** The last policy set that compiled, so a restart with a broken policy dir never starts wider. */
const policyDb = defineDatabase<string, { savedAt: string; files: PolicySourceFile[] }>({ name: "policy" });
const LAST_GOOD = "lastGood";

export function lastGoodPolicyStore(store: Store) {
  const db = store.db(policyDb);
  return {
    load(): PolicySourceFile[] | undefined {
      return db.get(LAST_GOOD)?.files;
    },
    save(files: PolicySourceFile[]): void {
      void db.put(LAST_GOOD, { savedAt: new Date().toISOString(), files });
    },
  };
}
