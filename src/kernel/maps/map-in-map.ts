/**
 * Map-in-map (ARRAY_OF_MAPS / HASH_OF_MAPS) from userspace: create an inner map shaped like the
 * outer map's template (same type, key size, value size and map_flags; hash and LPM inner maps do
 * not compare max_entries), fill it, then store its fd in a slot. The kernel keeps the inner map
 * alive while a slot refers to it, so the caller may close its own fd afterwards. Reading a slot
 * gives the inner map's id, not an fd.
 */
import { mapLookup, mapUpdate, mapDelete } from "../libbpf/syscalls.ts";
import { UpdateFlag } from "../libbpf/constants.ts";
import { BpfMap, type CreateMapSpec } from "./bpf-map.ts";
import type { MapCodec } from "./codec.ts";

/** Anything with a map fd: a BpfMap, an ObjectMap of a loaded object. */
export interface HasFd {
  readonly fd: number;
}

export function createInnerMap<K, V>(spec: Omit<CreateMapSpec, "innerMapFd">, codec: MapCodec<K, V>): BpfMap<K, V> {
  return BpfMap.create(spec, codec);
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** outer[slot] = inner (slot: an ARRAY_OF_MAPS index or a u32 HASH_OF_MAPS key). */
export function setOuterSlot(outer: HasFd, slot: number, inner: HasFd): void {
  mapUpdate(outer.fd, u32(slot), u32(inner.fd), UpdateFlag.any, `outer slot ${slot}`);
}

/** The kernel id of the map in outer[slot], or undefined when the slot is empty. */
export function outerSlotId(outer: HasFd, slot: number): number | undefined {
  const value = new Uint8Array(4);
  if (!mapLookup(outer.fd, u32(slot), value, `outer slot ${slot}`)) return undefined;
  return new DataView(value.buffer).getUint32(0, true);
}

/** Empties outer[slot] (false when it was empty already). */
export function clearOuterSlot(outer: HasFd, slot: number): boolean {
  return mapDelete(outer.fd, u32(slot), `outer slot ${slot}`);
}
