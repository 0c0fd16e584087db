/**
 * Numeric workload ids for the kernel maps (0 = unmanaged), stable across policy generations and
 * restarts: a process classified as id N keeps meaning the same SPIFFE ID. Ids are never reused,
 * so a stale classification can never pick up another workload's rules.
 */
import { defineDatabase, type Store } from "../store/index.ts";

const idsDb = defineDatabase<string, number>({ name: "kernel.workload-ids" });
const NEXT = "\u0000next";

export interface WorkloadIds {
  /** The id of a SPIFFE ID, assigned on first use. */
  idFor(spiffeId: string): number;
  /** The SPIFFE ID of an id, if one was ever assigned. */
  spiffeIdOf(id: number): string | undefined;
}

export function storedWorkloadIds(store: Store): WorkloadIds {
  const db = store.db(idsDb);
  const byId = new Map<number, string>();
  for (const { key, value } of db.getRange()) if (key !== NEXT) byId.set(value, key);
  return {
    idFor(spiffeId) {
      const known = db.get(spiffeId);
      if (known !== undefined) return known;
      const id = store.transactionSync(() => {
        const again = db.get(spiffeId);
        if (again !== undefined) return again;
        const next = db.get(NEXT) ?? 1;
        if (next > 0xffff_ffff) throw new RangeError("workload id space exhausted");
        db.putSync(NEXT, next + 1);
        db.putSync(spiffeId, next);
        return next;
      });
      byId.set(id, spiffeId);
      return id;
    },
    spiffeIdOf(id) {
      return byId.get(id);
    },
  };
}
