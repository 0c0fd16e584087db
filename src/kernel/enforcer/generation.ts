/**
 * Applies one compiled policy generation to the kernel without a half-applied moment: new inner
 * maps are filled for the INACTIVE slot of every outer map, then one write to `state` flips
 * `active_slot`. A program reads `active_slot` once per call, so each connect sees either the
 * whole old generation or the whole new one.
 */
import type { KernelPolicy, ProxyTarget } from "../compile/index.ts";
import { hostPrefix, prefixBytes } from "../compile/prefixes.ts";
import { CODECS, LIMITS, type ProxyAddress, type SluiceState } from "../layout.ts";
import { MapFlag, MapType } from "../libbpf/constants.ts";
import type { BpfMap } from "../maps/bpf-map.ts";
import { createInnerMap, setOuterSlot } from "../maps/map-in-map.ts";

export interface GenerationMaps {
  readonly state: BpfMap<number, SluiceState>;
  readonly rulesV4Outer: { readonly fd: number };
  readonly rulesV6Outer: { readonly fd: number };
  readonly workloadsOuter: { readonly fd: number };
  readonly exeOuter: { readonly fd: number };
  readonly ingressV4Outer: { readonly fd: number };
  readonly ingressV6Outer: { readonly fd: number };
}

export function readState(maps: GenerationMaps): SluiceState {
  return maps.state.lookup(0) ?? { activeSlot: 0, generation: 0, appliedAtNs: 0n };
}

/** The proxy of a compiled policy as sluice_state holds it (v4 must be IPv4, v6 IPv6). */
export function proxyAddress(p: ProxyTarget): ProxyAddress {
  const v4 = hostPrefix(p.v4);
  const v6 = hostPrefix(p.v6);
  if (v4?.family !== 4) throw new TypeError(`proxy: ${p.v4} is not an IPv4 address`);
  if (v6?.family !== 6) throw new TypeError(`proxy: ${p.v6} is not an IPv6 address`);
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65_535) throw new RangeError(`proxy: port ${p.port}`);
  return { ip4: prefixBytes(v4), ip6: prefixBytes(v6), port: p.port };
}

/**
 * Fills the inactive slot with `policy` and switches to it; returns the new state. The proxy
 * address (REDIRECT target) is part of the same `state` write, so it switches with the rules.
 */
export function applyGeneration(maps: GenerationMaps, policy: KernelPolicy): SluiceState {
  const current = readState(maps);
  const slot = current.activeSlot === 0 ? 1 : 0;
  const inner = [
    createInnerMap({ type: MapType.LPM_TRIE, name: "sl_rules_v4", maxEntries: Math.max(1, LIMITS.RULES_MAX), flags: MapFlag.NO_PREALLOC }, CODECS.rulesV4),
    createInnerMap({ type: MapType.LPM_TRIE, name: "sl_rules_v6", maxEntries: Math.max(1, LIMITS.RULES_MAX), flags: MapFlag.NO_PREALLOC }, CODECS.rulesV6),
    createInnerMap({ type: MapType.HASH, name: "sl_workloads", maxEntries: LIMITS.WORKLOADS_MAX }, CODECS.workloads),
    createInnerMap({ type: MapType.HASH, name: "sl_exe", maxEntries: LIMITS.EXE_MAX }, CODECS.exe),
    createInnerMap({ type: MapType.LPM_TRIE, name: "sl_ingress4", maxEntries: LIMITS.INGRESS_MAX, flags: MapFlag.NO_PREALLOC }, CODECS.ingressV4),
    createInnerMap({ type: MapType.LPM_TRIE, name: "sl_ingress6", maxEntries: LIMITS.INGRESS_MAX, flags: MapFlag.NO_PREALLOC }, CODECS.ingressV6),
  ] as const;
  const [v4, v6, workloads, exe, in4, in6] = inner;
  try {
    for (const e of policy.rulesV4) v4.update({ workload: e.workload, prefixLen: e.prefixLen, addr: e.addr }, e.value);
    for (const e of policy.rulesV6) v6.update({ workload: e.workload, prefixLen: e.prefixLen, addr: e.addr }, e.value);
    for (const [id, w] of policy.workloads) workloads.update(id, { flags: w.flags });
    for (const e of policy.exe) exe.update(e, { workload: e.workload, rank: e.rank });
    for (const e of policy.ingressV4) in4.update(e, e.verdict);
    for (const e of policy.ingressV6) in6.update(e, e.verdict);
    setOuterSlot(maps.rulesV4Outer, slot, v4);
    setOuterSlot(maps.rulesV6Outer, slot, v6);
    setOuterSlot(maps.workloadsOuter, slot, workloads);
    setOuterSlot(maps.exeOuter, slot, exe);
    setOuterSlot(maps.ingressV4Outer, slot, in4);
    setOuterSlot(maps.ingressV6Outer, slot, in6);
    const next: SluiceState = {
      activeSlot: slot,
      generation: (current.generation + 1) >>> 0,
      appliedAtNs: process.hrtime.bigint(),
      ...(policy.proxy ? { proxy: proxyAddress(policy.proxy) } : {}),
    };
    maps.state.update(0, next);
    return next;
  } finally {
    // The outer maps hold their own references; ours are no longer needed.
    for (const m of inner) m.close();
  }
}
