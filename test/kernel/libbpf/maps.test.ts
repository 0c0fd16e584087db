/**
 * BpfMap<K, V> round trips on maps created from userspace: hash (update modes, iteration,
 * delete), array, LPM trie (longest-prefix lookups), per-CPU arrays, ARRAY_OF_MAPS with inner
 * maps, pin + adopt. Errors carry the errno name and the call.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { MapFlag, MapType } from "../../../src/kernel/libbpf/constants.ts";
import { bpfFdInfo } from "../../../src/kernel/libbpf/fdinfo.ts";
import { loadLibbpf } from "../../../src/kernel/libbpf/load.ts";
import { BpfMap, isMapErrno } from "../../../src/kernel/maps/bpf-map.ts";
import { mapCodec, u32Codec, u64Codec, type FieldCodec } from "../../../src/kernel/maps/codec.ts";
import { clearOuterSlot, createInnerMap, outerSlotId, setOuterSlot } from "../../../src/kernel/maps/map-in-map.ts";
import { ensurePinDir } from "../../../src/kernel/pin/bpffs.ts";
import { detachAll } from "../../../src/kernel/pin/pins.ts";
import { skipUnlessKernel } from "./support/kernel.ts";

const skip = skipUnlessKernel("kernel/libbpf/maps");

interface Lpm {
  prefixlen: number;
  addr: number[];
}
const lpmKey: FieldCodec<Lpm> = {
  size: 8,
  encode(k, out) {
    const b = out ?? new Uint8Array(8);
    new DataView(b.buffer, b.byteOffset).setUint32(0, k.prefixlen, true);
    b.set(k.addr, 4);
    return b;
  },
  decode: (b) => ({ prefixlen: new DataView(b.buffer, b.byteOffset).getUint32(0, true), addr: [...b.subarray(4, 8)] }),
};

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

describe.skipIf(skip)("BpfMap on userspace-created maps", () => {
  const open: BpfMap<unknown, unknown>[] = [];
  const make = <K, V>(m: BpfMap<K, V>) => (open.push(m as BpfMap<unknown, unknown>), m);
  const pinDir = `/sys/fs/bpf/sluice-test-maps-${process.pid}`;
  afterAll(() => {
    for (const m of open) m.close();
    if (!skip && existsSync(pinDir)) detachAll(pinDir);
  });

  test("hash: update modes, lookup, has, delete", () => {
    const m = make(BpfMap.create({ type: MapType.HASH, name: "t_hash", maxEntries: 16 }, mapCodec(u32Codec, u64Codec)));
    expect(m.lookup(1)).toBeUndefined();
    m.update(1, 10n);
    expect(m.lookup(1)).toBe(10n);
    m.update(1, 11n, "exist");
    expect(m.lookup(1)).toBe(11n);
    expect(() => m.update(1, 12n, "noexist")).toThrow(expect.objectContaining({ code: "ERR_BPF_MAP", errno: "EEXIST", call: "bpf_map_update_elem" }));
    expect(() => m.update(2, 1n, "exist")).toThrow(expect.objectContaining({ errno: "ENOENT" }));
    const err = thrown(() => m.update(1, 0n, "noexist"));
    expect(isMapErrno(err, "EEXIST")).toBe(true);
    expect((err as Error).message).toBe("bpf_map_update_elem(t_hash): EEXIST (File exists)");
    expect(m.has(1)).toBe(true);
    expect(m.delete(1)).toBe(true);
    expect(m.delete(1)).toBe(false);
    expect(m.has(1)).toBe(false);
  });

  test("hash: iterate keys and entries; a full map refuses with E2BIG", () => {
    const m = make(BpfMap.create({ type: MapType.HASH, name: "t_iter", maxEntries: 8 }, mapCodec(u32Codec, u32Codec)));
    for (let i = 0; i < 8; i++) m.update(i * 3, i);
    expect([...m.keys()].sort((a, b) => a - b)).toEqual([0, 3, 6, 9, 12, 15, 18, 21]);
    expect(new Map(m.entries())).toEqual(new Map(Array.from({ length: 8 }, (_, i) => [i * 3, i])));
    expect(() => m.update(100, 1)).toThrow(expect.objectContaining({ errno: "E2BIG" }));
  });

  test("array: preallocated zeros, no delete (EINVAL), bounds (E2BIG)", () => {
    const m = make(BpfMap.create({ type: MapType.ARRAY, name: "t_array", maxEntries: 4 }, mapCodec(u32Codec, u64Codec)));
    expect([...m.entries()]).toEqual([
      [0, 0n],
      [1, 0n],
      [2, 0n],
      [3, 0n],
    ]);
    m.update(2, 1n << 63n);
    expect(m.lookup(2)).toBe(1n << 63n);
    expect(() => m.delete(2)).toThrow(expect.objectContaining({ errno: "EINVAL", call: "bpf_map_delete_elem" }));
    expect(() => m.update(4, 1n)).toThrow(expect.objectContaining({ errno: "E2BIG" }));
    expect(m.lookup(4)).toBeUndefined();
  });

  test("LPM trie: exact keys round trip; lookups return the longest matching prefix", () => {
    const m = make(BpfMap.create({ type: MapType.LPM_TRIE, name: "t_lpm", maxEntries: 16, flags: MapFlag.NO_PREALLOC }, mapCodec(lpmKey, u32Codec)));
    m.update({ prefixlen: 8, addr: [10, 0, 0, 0] }, 8);
    m.update({ prefixlen: 24, addr: [10, 1, 2, 0] }, 24);
    m.update({ prefixlen: 32, addr: [10, 1, 2, 3] }, 32);
    expect(m.lookup({ prefixlen: 32, addr: [10, 1, 2, 3] })).toBe(32);
    expect(m.lookup({ prefixlen: 32, addr: [10, 1, 2, 4] })).toBe(24);
    expect(m.lookup({ prefixlen: 32, addr: [10, 9, 9, 9] })).toBe(8);
    expect(m.lookup({ prefixlen: 32, addr: [11, 0, 0, 1] })).toBeUndefined();
    expect([...m.keys()].map((k) => `${k.addr.join(".")}/${k.prefixlen}`).sort()).toEqual(["10.0.0.0/8", "10.1.2.0/24", "10.1.2.3/32"]);
    expect(m.delete({ prefixlen: 24, addr: [10, 1, 2, 0] })).toBe(true);
    expect(m.lookup({ prefixlen: 32, addr: [10, 1, 2, 4] })).toBe(8);
    // Without BPF_F_NO_PREALLOC the kernel refuses an LPM trie.
    expect(() => BpfMap.create({ type: MapType.LPM_TRIE, name: "t_lpm_bad", maxEntries: 16 }, mapCodec(lpmKey, u32Codec))).toThrow(
      expect.objectContaining({ code: "ERR_BPF_MAP", errno: "EINVAL", call: "bpf_map_create" }),
    );
  });

  test("per-CPU array: one slot per possible CPU, written and summed", () => {
    const cpus = loadLibbpf().possibleCpus;
    const m = make(BpfMap.create({ type: MapType.PERCPU_ARRAY, name: "t_percpu", maxEntries: 2 }, mapCodec(u32Codec, u64Codec)));
    m.updatePerCpu(1, Array.from({ length: cpus }, (_, i) => BigInt(i + 1)));
    expect(m.lookupPerCpu(1)).toEqual(Array.from({ length: cpus }, (_, i) => BigInt(i + 1)));
    expect(m.sumPerCpu(1)).toBe(BigInt((cpus * (cpus + 1)) / 2));
    m.updatePerCpu(0, [7n]);
    expect(m.sumPerCpu(0)).toBe(7n * BigInt(cpus));
    expect(() => m.update(0, 1n)).toThrow(TypeError);
    // 4-byte values sit in 8-byte slots.
    const small = make(BpfMap.create({ type: MapType.PERCPU_ARRAY, name: "t_percpu32", maxEntries: 1 }, mapCodec(u32Codec, u32Codec)));
    small.updatePerCpu(0, [5]);
    expect(small.lookupPerCpu(0)).toEqual(Array(cpus).fill(5));
    expect(small.sumPerCpu(0)).toBe(5n * BigInt(cpus));
  });

  test("ARRAY_OF_MAPS: inner maps created from userspace go into slots; reads give their ids", () => {
    const inner = mapCodec(u32Codec, u32Codec);
    const template = make(createInnerMap({ type: MapType.HASH, name: "t_tmpl", maxEntries: 4 }, inner));
    const outer = make(BpfMap.create({ type: MapType.ARRAY_OF_MAPS, name: "t_outer", maxEntries: 2, innerMapFd: template.fd }, mapCodec(u32Codec, u32Codec)));
    const gen1 = make(createInnerMap({ type: MapType.HASH, name: "t_gen1", maxEntries: 4 }, inner));
    gen1.update(443, 1);
    setOuterSlot(outer, 1, gen1);
    expect(outerSlotId(outer, 1)).toBe(bpfFdInfo(gen1.fd).id);
    expect(outerSlotId(outer, 0)).toBeUndefined();
    expect(clearOuterSlot(outer, 1)).toBe(true);
    expect(clearOuterSlot(outer, 1)).toBe(false);
    const wrongValue = make(createInnerMap({ type: MapType.HASH, name: "t_wrong", maxEntries: 4 }, mapCodec(u32Codec, u64Codec)));
    expect(() => setOuterSlot(outer, 0, wrongValue)).toThrow(expect.objectContaining({ errno: "EINVAL" }));
  });

  test("HASH_OF_MAPS keyed by u32", () => {
    const inner = mapCodec(u32Codec, u32Codec);
    const template = make(createInnerMap({ type: MapType.HASH, name: "t_tmpl2", maxEntries: 4 }, inner));
    const outer = make(BpfMap.create({ type: MapType.HASH_OF_MAPS, name: "t_houter", maxEntries: 8, innerMapFd: template.fd }, mapCodec(u32Codec, u32Codec)));
    const a = make(createInnerMap({ type: MapType.HASH, name: "t_a", maxEntries: 4 }, inner));
    setOuterSlot(outer, 4242, a);
    expect(outerSlotId(outer, 4242)).toBe(bpfFdInfo(a.fd).id);
    expect([...outer.keys()]).toEqual([4242]);
  });

  test("pin and adopt: the adopted map sees the same contents; sizes are checked", () => {
    ensurePinDir(pinDir);
    const m = make(BpfMap.create({ type: MapType.HASH, name: "t_pinned", maxEntries: 4 }, mapCodec(u32Codec, u64Codec)));
    m.update(7, 77n);
    m.pin(`${pinDir}/t_pinned`);
    const adopted = make(BpfMap.adopt(`${pinDir}/t_pinned`, mapCodec(u32Codec, u64Codec)));
    expect(adopted.type).toBe(MapType.HASH);
    expect(adopted.lookup(7)).toBe(77n);
    adopted.update(8, 88n);
    expect(m.lookup(8)).toBe(88n);
    expect(() => m.pin(`${pinDir}/t_pinned`)).toThrow(expect.objectContaining({ code: "ERR_BPF_PIN", errno: "EEXIST", call: "bpf_obj_pin" }));
    expect(() => BpfMap.adopt(`${pinDir}/missing`, mapCodec(u32Codec, u64Codec))).toThrow(expect.objectContaining({ errno: "ENOENT", call: "bpf_obj_get" }));
  });

  test("a closed map refuses further calls", () => {
    const m = BpfMap.create({ type: MapType.HASH, name: "t_closed", maxEntries: 1 }, mapCodec(u32Codec, u32Codec));
    m.close();
    m.close();
    expect(() => m.lookup(1)).toThrow(/closed/);
  });
});
