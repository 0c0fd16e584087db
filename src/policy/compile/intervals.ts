/**
 * Address ranges → payloads, answered by binary search over elementary intervals. CIDR blocks are
 * nested or disjoint, so each interval carries at most ~33 (IPv4) / ~129 (IPv6) payloads per rule set.
 */
export interface RangeEntry<N, P> {
  readonly lo: N;
  readonly hi: N;
  readonly payload: P;
}

export class IntervalIndex<N extends number | bigint, P> {
  readonly #starts: N[] = [];
  readonly #lists: Array<readonly P[] | undefined> = [];

  /** `succ(n)` is n + 1; `order` sorts the payloads of one interval (e.g. by rule position). */
  constructor(entries: ReadonlyArray<RangeEntry<N, P>>, succ: (n: N) => N, order: (a: P, b: P) => number) {
    if (entries.length === 0) return;
    const boundaries = new Set<N>();
    for (const e of entries) {
      boundaries.add(e.lo);
      boundaries.add(succ(e.hi));
    }
    const sorted = [...boundaries].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const byLo = [...entries].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    let next = 0;
    let active: Array<RangeEntry<N, P>> = [];
    for (const start of sorted) {
      while (next < byLo.length && byLo[next]!.lo <= start) active.push(byLo[next++]!);
      active = active.filter((e) => e.hi >= start);
      this.#starts.push(start);
      this.#lists.push(active.length === 0 ? undefined : active.map((e) => e.payload).sort(order));
    }
  }

  /** Payloads of every range containing `x`, in `order`; undefined when none. */
  lookup(x: N): readonly P[] | undefined {
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length - 1;
    if (hi < 0 || x < starts[0]!) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    return this.#lists[lo];
  }

  get size(): number {
    return this.#starts.length;
  }
}
