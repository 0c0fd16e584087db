/**
 * A typed view of one BPF map, by fd: `BpfMap<K, V>` encodes keys and values with a MapCodec and
 * turns the bpf() element calls into lookup/update/delete/iteration. Per-CPU maps (PERCPU_ARRAY,
 * PERCPU_HASH…) hold one value per possible CPU, each in an 8-byte-aligned slot: read them with
 * `lookupPerCpu` / `sumPerCpu`, write with `updatePerCpu`.
 *
 * Ownership: a map from `fromObjectMap` borrows the object's fd (valid until the object is
 * closed); `adopt` (a pin) and `create` own theirs and `close()` releases it.
 */
import { closeSync } from "node:fs";
import { KernelError } from "../errors.ts";
import { PERCPU_MAP_TYPES, UpdateFlag, mapTypeName, type UpdateMode } from "../libbpf/constants.ts";
import { bpfFdInfo } from "../libbpf/fdinfo.ts";
import { loadLibbpf } from "../libbpf/load.ts";
import type { ObjectMap } from "../libbpf/object-map.ts";
import { mapCreate, mapDelete, mapLookup, mapNextKey, mapUpdate, objGet, objPin } from "../libbpf/syscalls.ts";
import type { MapCodec } from "./codec.ts";

export interface BpfMapInfo {
  fd: number;
  name: string;
  /** enum bpf_map_type (MapType). */
  type: number;
  /** Close the fd on close(). */
  owned: boolean;
}

export interface CreateMapSpec {
  type: number;
  name: string;
  maxEntries: number;
  /** map_flags (MapFlag.NO_PREALLOC is required for LPM_TRIE). */
  flags?: number;
  /** For ARRAY_OF_MAPS/HASH_OF_MAPS: a map whose shape inner maps must have. */
  innerMapFd?: number;
}

export class BpfMap<K, V> {
  readonly name: string;
  readonly type: number;
  #fd: number;
  readonly #owned: boolean;
  readonly #codec: MapCodec<K, V>;
  /** Per-CPU slot stride and count, when the map is per-CPU. */
  readonly #perCpu: { stride: number; cpus: number } | undefined;

  constructor(info: BpfMapInfo, codec: MapCodec<K, V>) {
    this.#fd = info.fd;
    this.name = info.name;
    this.type = info.type;
    this.#owned = info.owned;
    this.#codec = codec;
    this.#perCpu = PERCPU_MAP_TYPES.has(info.type) ? { stride: Math.ceil(codec.valueSize / 8) * 8, cpus: loadLibbpf().possibleCpus } : undefined;
  }

  /** The map of a loaded object; the codec's sizes must match the object's definition. */
  static fromObjectMap<K, V>(map: ObjectMap, codec: MapCodec<K, V>): BpfMap<K, V> {
    if (map.keySize !== codec.keySize || map.valueSize !== codec.valueSize) {
      throw new TypeError(
        `map ${map.name}: codec sizes key ${codec.keySize}/value ${codec.valueSize} differ from the object's key ${map.keySize}/value ${map.valueSize}`,
      );
    }
    const fd = map.fd;
    if (fd < 0) throw new TypeError(`map ${map.name}: object ${map.objectName} is not loaded`);
    return new BpfMap({ fd, name: map.name, type: map.type, owned: false }, codec);
  }

  /** A pinned map (bpf_obj_get); its type and sizes are checked against the codec. */
  static adopt<K, V>(path: string, codec: MapCodec<K, V>): BpfMap<K, V> {
    const fd = objGet(path);
    const info = bpfFdInfo(fd);
    const keySize = Number(info.fields.key_size);
    const valueSize = Number(info.fields.value_size);
    if (info.kind !== "map" || keySize !== codec.keySize || valueSize !== codec.valueSize) {
      closeSync(fd);
      throw new TypeError(`${path}: pinned ${info.kind} (key ${keySize}, value ${valueSize}) does not fit a codec with key ${codec.keySize}/value ${codec.valueSize}`);
    }
    return new BpfMap({ fd, name: path.split("/").pop() ?? path, type: info.type ?? 0, owned: true }, codec);
  }

  /** bpf_map_create: a new map owned by this object (e.g. an inner map of a map-in-map). */
  static create<K, V>(spec: CreateMapSpec, codec: MapCodec<K, V>): BpfMap<K, V> {
    const fd = mapCreate({
      type: spec.type,
      name: spec.name,
      keySize: codec.keySize,
      valueSize: codec.valueSize,
      maxEntries: spec.maxEntries,
      ...(spec.flags !== undefined ? { mapFlags: spec.flags } : {}),
      ...(spec.innerMapFd !== undefined ? { innerMapFd: spec.innerMapFd } : {}),
    });
    return new BpfMap({ fd, name: spec.name, type: spec.type, owned: true }, codec);
  }

  get fd(): number {
    if (this.#fd < 0) throw new TypeError(`map ${this.name} is closed`);
    return this.#fd;
  }

  get typeName(): string {
    return mapTypeName(this.type);
  }

  lookup(key: K): V | undefined {
    this.#notPerCpu("lookup");
    const value = new Uint8Array(this.#codec.valueSize);
    return mapLookup(this.fd, this.#key(key), value, this.name) ? this.#codec.decodeValue(value) : undefined;
  }

  has(key: K): boolean {
    const size = this.#perCpu ? this.#perCpu.stride * this.#perCpu.cpus : this.#codec.valueSize;
    return mapLookup(this.fd, this.#key(key), new Uint8Array(size), this.name);
  }

  /** `mode`: any (create or replace), noexist (create only: EEXIST otherwise), exist (replace only: ENOENT otherwise). */
  update(key: K, value: V, mode: UpdateMode = "any"): void {
    this.#notPerCpu("update");
    mapUpdate(this.fd, this.#key(key), this.#value(value), UpdateFlag[mode], this.name);
  }

  /** false when the key was absent. Array maps cannot delete (EINVAL). */
  delete(key: K): boolean {
    return mapDelete(this.fd, this.#key(key), this.name);
  }

  /**
   * Keys in the kernel's order. A key deleted while iterating makes a hash map restart from its
   * first key (the kernel's get_next_key rule), so collect first when deleting.
   */
  *keys(): IterableIterator<K> {
    const a = new Uint8Array(this.#codec.keySize);
    const b = new Uint8Array(this.#codec.keySize);
    let prev: Uint8Array | null = null;
    let next = a;
    while (mapNextKey(this.fd, prev, next, this.name)) {
      yield this.#codec.decodeKey(next);
      prev = next;
      next = next === a ? b : a;
    }
  }

  /** [key, value] pairs; keys removed between the two calls are skipped. */
  *entries(): IterableIterator<[K, V]> {
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value !== undefined) yield [key, value];
    }
  }

  /** One value per possible CPU (per-CPU maps only). */
  lookupPerCpu(key: K): V[] | undefined {
    const pc = this.#needPerCpu("lookupPerCpu");
    const all = new Uint8Array(pc.stride * pc.cpus);
    if (!mapLookup(this.fd, this.#key(key), all, this.name)) return undefined;
    const out: V[] = [];
    for (let cpu = 0; cpu < pc.cpus; cpu++) out.push(this.#codec.decodeValue(all.subarray(cpu * pc.stride, cpu * pc.stride + this.#codec.valueSize)));
    return out;
  }

  /** Sum over CPUs of a numeric per-CPU value (counters); 0 when the key is absent. */
  sumPerCpu(this: BpfMap<K, bigint> | BpfMap<K, number>, key: K): bigint {
    const values = (this as BpfMap<K, bigint | number>).lookupPerCpu(key) ?? [];
    return values.reduce<bigint>((sum, v) => sum + BigInt(v), 0n);
  }

  /** Writes every CPU's slot: `values` has one entry per possible CPU, or one entry copied to all. */
  updatePerCpu(key: K, values: readonly V[], mode: UpdateMode = "any"): void {
    const pc = this.#needPerCpu("updatePerCpu");
    if (values.length !== 1 && values.length !== pc.cpus) throw new TypeError(`map ${this.name}: ${values.length} values for ${pc.cpus} possible CPUs`);
    const all = new Uint8Array(pc.stride * pc.cpus);
    for (let cpu = 0; cpu < pc.cpus; cpu++) all.set(this.#value((values.length === 1 ? values[0] : values[cpu]) as V), cpu * pc.stride);
    mapUpdate(this.fd, this.#key(key), all, UpdateFlag[mode], this.name);
  }

  /** bpf_obj_pin of this map's fd. */
  pin(path: string): void {
    objPin(this.fd, path);
  }

  /** Releases an owned fd (no-op for a borrowed one). Idempotent. */
  close(): void {
    if (this.#fd >= 0 && this.#owned) closeSync(this.#fd);
    this.#fd = -1;
  }

  #key(key: K): Uint8Array {
    const b = this.#codec.encodeKey(key);
    if (b.length !== this.#codec.keySize) throw new TypeError(`map ${this.name}: key encodes to ${b.length} bytes, expected ${this.#codec.keySize}`);
    return b;
  }

  #value(value: V): Uint8Array {
    const b = this.#codec.encodeValue(value);
    if (b.length !== this.#codec.valueSize) throw new TypeError(`map ${this.name}: value encodes to ${b.length} bytes, expected ${this.#codec.valueSize}`);
    return b;
  }

  #notPerCpu(op: string): void {
    if (this.#perCpu) throw new TypeError(`map ${this.name} is per-CPU (${this.typeName}): use ${op}PerCpu`);
  }

  #needPerCpu(op: string): { stride: number; cpus: number } {
    if (!this.#perCpu) throw new TypeError(`${op}: map ${this.name} (${this.typeName}) is not per-CPU`);
    return this.#perCpu;
  }
}

/** True when the error is a map call failing with this errno name (e.g. EEXIST from a noexist update). */
export function isMapErrno(err: unknown, name: string): boolean {
  return err instanceof KernelError && err.code === "ERR_BPF_MAP" && err.errno === name;
}

