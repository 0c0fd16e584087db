/**
 * Port/protocol sets → sluice_rule ranges. A set keeps, per protocol bit (TCP, UDP, OTHER), sorted
 * disjoint inclusive port intervals. Rendering groups identical intervals across protocols into one
 * range with a combined mask, and turns a protocol that covers every port (1-65535, as policy files
 * mean "no ports") into an all_ports_mask bit, so most rules cost no range at all.
 */
import type { PortRange, Protocol } from "../../policy/index.ts";
import { PROTO_MASK, type PortRangeValue } from "../layout.ts";

export const MIN_PORT = 1;
export const MAX_PORT = 65_535;
const BITS = [PROTO_MASK.TCP, PROTO_MASK.UDP, PROTO_MASK.OTHER] as const;

type Interval = readonly [number, number];

export function protoMaskOf(protocol: Protocol): number {
  return protocol === "tcp" ? PROTO_MASK.TCP : protocol === "udp" ? PROTO_MASK.UDP : PROTO_MASK.TCP | PROTO_MASK.UDP | PROTO_MASK.OTHER;
}

function merge(list: readonly Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export class PortSet {
  readonly #byBit = new Map<number, Interval[]>();

  /** `ports` empty = every port. */
  static of(protocol: Protocol, ports: readonly PortRange[]): PortSet {
    const s = new PortSet();
    const ranges: Interval[] = ports.length === 0 ? [[MIN_PORT, MAX_PORT]] : ports.map((p) => [p.from, p.to]);
    for (const bit of BITS) if (protoMaskOf(protocol) & bit) s.#byBit.set(bit, merge(ranges));
    return s;
  }

  /** A new set: this ∪ other. */
  union(other: PortSet): PortSet {
    const s = new PortSet();
    for (const bit of BITS) {
      const a = this.#byBit.get(bit) ?? [];
      const b = other.#byBit.get(bit) ?? [];
      if (a.length + b.length > 0) s.#byBit.set(bit, merge([...a, ...b]));
    }
    return s;
  }

  /** A new set: only the protocol bits of `mask`. */
  only(mask: number): PortSet {
    const s = new PortSet();
    for (const bit of BITS) {
      const list = this.#byBit.get(bit);
      if (list && mask & bit) s.#byBit.set(bit, [...list]);
    }
    return s;
  }

  /** Does the set allow `port` for protocol bit `bit`? (The reference the kernel ranges must equal.) */
  allows(port: number, bit: number): boolean {
    return (this.#byBit.get(bit) ?? []).some(([lo, hi]) => port >= lo && port <= hi);
  }

  /** all_ports_mask and the ranges the kernel needs (may exceed MAX_RANGES: the caller checks). */
  render(): { allPortsMask: number; ranges: PortRangeValue[] } {
    let allPortsMask = 0;
    const byInterval = new Map<string, { lo: number; hi: number; protoMask: number }>();
    for (const bit of BITS) {
      const list = this.#byBit.get(bit);
      if (!list) continue;
      if (list.length === 1 && list[0]![0] <= MIN_PORT && list[0]![1] >= MAX_PORT) {
        allPortsMask |= bit;
        continue;
      }
      for (const [lo, hi] of list) {
        const key = `${lo}-${hi}`;
        const r = byInterval.get(key);
        if (r) r.protoMask |= bit;
        else byInterval.set(key, { lo, hi, protoMask: bit });
      }
    }
    const ranges = [...byInterval.values()].sort((a, b) => a.lo - b.lo || a.hi - b.hi || a.protoMask - b.protoMask);
    return { allPortsMask, ranges };
  }
}
