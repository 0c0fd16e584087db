/**
 * Workload numeric ids (u32 in the kernel maps): assigned once per SPIFFE ID and never reused, so a
 * process classified under one generation keeps meaning the same workload under the next. 0 is
 * UNMANAGED. The daemon persists its registry (store); tests use the in-memory one.
 */
export const UNMANAGED = 0;

export interface WorkloadIdRegistry {
  /** The id of `spiffeId`, assigning the next free one (≥ 1) on first sight. */
  idFor(spiffeId: string): number;
}

export class InMemoryWorkloadIds implements WorkloadIdRegistry {
  readonly #ids = new Map<string, number>();
  #next: number;

  /** `initial`: ids already assigned (e.g. loaded from the store). */
  constructor(initial: Iterable<readonly [string, number]> = []) {
    let max = 0;
    for (const [id, n] of initial) {
      if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) throw new RangeError(`workload id ${n} for ${id} is not in 1..2^32-1`);
      this.#ids.set(id, n);
      max = Math.max(max, n);
    }
    this.#next = max + 1;
  }

  idFor(spiffeId: string): number {
    let n = this.#ids.get(spiffeId);
    if (n === undefined) {
      if (this.#next > 0xffffffff) throw new RangeError("workload ids exhausted");
      this.#ids.set(spiffeId, (n = this.#next++));
    }
    return n;
  }

  entries(): Array<[string, number]> {
    return [...this.#ids];
  }
}
