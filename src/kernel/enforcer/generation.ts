/**
 * Applies one compiled policy generation to the kernel without a half-applied moment: new inner
 * maps are filled for the INACTIVE slot of every outer map, then one write to `state` flips
 * `active_slot`. A program reads `active_slot` once per call, so each connect sees either the
 * whole old generation or the whole new one.
 */
import type { KernelPolicy } from "../compile/index.ts";
import { CODECS, LIMITS, type SluiceState } from "../layout.ts";
import { MapFlag, MapType } from "../libbpf/constants.ts";
import type { BpfMap } from "../maps/bpf-map.ts";
import { createInnerMap, setOuterSlot } from "../maps/map-in-map.ts";

export interface GenerationMaps {
  readonly state: BpfMap<number, SluiceState>;
  readonly rulesV4Outer: { readonly fd: number };
  readonly rulesV6Outer: { readonly fd: number };
  readonly workloadsOuter: { readonly fd: number };
  readonly exeOuter: { readonly fd: number };
}

export function readState(maps: GenerationMaps): SluiceState {
  return maps.state.lookup(0) ?? { activeSlot: 0, generation: 0, appliedAtNs: 0n };
}

/** Fills the inactive slot with `policy` and switches to it; returns the new state. */
export function applyGeneration(maps: GenerationMaps, policy: KernelPolicy): SluiceState {
  const current = readState(maps);
  const slot = current.activeSlot === 0 ? 1 : 0;
  const inner = [
    createInnerMap({ type: MapType.LPM_TRIE, name: "sl_rules_v4", maxEntries: Math.max(1, LIMITS.RULES_MAX), flags: MapFlag.NO_PREALLOC }, CODECS.rulesV4),
    createInnerMap({ type: MapType.LPM_TRIE, name: "sl_rules_v6", maxEntries: Math.max(1, LIMITS.RULES_MAX), flags: MapFlag.NO_PREALLOC }, CODECS.rulesV6),
    createInnerMap({ type: MapType.HASH, name: "sl_workloads", maxEntries: LIMITS.WORKLOADS_MAX }, CODECS.workloads),
    createInnerMap({ type: MapType.HASH, name: "sl_exe", maxEntries: LIMITS.EXE_MAX }, CODECS.exe),
  ] as const;
  const [v4, v6, workloads, exe] = inner;
  try {
    for (const e of policy.rulesV4) v4.update({ workload: e.workload, prefixLen: e.prefixLen, addr: e.addr }, e.value);
    for (const e of policy.rulesV6) v6.update({ workload: e.workload, prefixLen: e.prefixLen, addr: e.addr }, e.value);
    for (const [id, w] of policy.workloads) workloads.update(id, { flags: w.flags });
    for (const e of policy.exe) exe.update({ ino: e.ino, dev: e.dev }, e.workload);
    setOuterSlot(maps.rulesV4Outer, slot, v4);
    setOuterSlot(maps.rulesV6Outer, slot, v6);
    setOuterSlot(maps.workloadsOuter, slot, workloads);
    setOuterSlot(maps.exeOuter, slot, exe);
    const next: SluiceState = { activeSlot: slot, generation: (current.generation + 1) >>> 0, appliedAtNs: process.hrtime.bigint() };
    maps.state.update(0, next);
    return next;
  } finally {
    // The outer maps hold their own references; ours are no longer needed.
    for (const m of inner) m.close();
  }
}
