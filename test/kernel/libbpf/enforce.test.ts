/**
 * The bindings end to end on the real kernel: a cgroup/connect4 program compiled here, loaded
 * from memory, attached to a fresh cgroup v2 child; a client process moved into that cgroup is
 * denied port 9 (EPERM), other ports are untouched, counters (ARRAY and PERCPU_ARRAY) move, ring
 * buffer records arrive without drops, and userspace-created LPM entries and map-in-map inner
 * maps change the kernel's decisions.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { BpfObject } from "../../../src/kernel/libbpf/object.ts";
import { MapFlag, MapType, ProgType } from "../../../src/kernel/libbpf/constants.ts";
import { BpfMap } from "../../../src/kernel/maps/bpf-map.ts";
import { bytesCodec, mapCodec, u32Codec, u64Codec, type FieldCodec } from "../../../src/kernel/maps/codec.ts";
import { createInnerMap, outerSlotId, setOuterSlot, clearOuterSlot } from "../../../src/kernel/maps/map-in-map.ts";
import { bpfFdInfo } from "../../../src/kernel/libbpf/fdinfo.ts";
import { loadLibbpf } from "../../../src/kernel/libbpf/load.ts";
import { RingBufferReader } from "../../../src/kernel/ringbuf-reader.ts";
import type { BpfLink } from "../../../src/kernel/libbpf/link.ts";
import { buildClient, compileBpf, connectFrom, listenLoopback, skipUnlessKernel, tempDir, TestCgroup } from "./support/kernel.ts";

const skip = skipUnlessKernel("kernel/libbpf/enforce");
const CNT = { DENIED: 0, ALLOWED: 1, DROPPED: 2 } as const;
const counter = mapCodec(u32Codec, u64Codec);

interface LpmV4 {
  prefixlen: number;
  addr: [number, number, number, number];
}
const lpmV4: FieldCodec<LpmV4> = {
  size: 8,
  encode(k, out) {
    const b = out ?? new Uint8Array(8);
    new DataView(b.buffer, b.byteOffset).setUint32(0, k.prefixlen, true);
    b.set(k.addr, 4);
    return b;
  },
  decode: (b) => ({ prefixlen: new DataView(b.buffer, b.byteOffset).getUint32(0, true), addr: [...b.subarray(4, 8)] as LpmV4["addr"] }),
};

describe.skipIf(skip)("connect4 program through the bindings", () => {
  const work = skip ? "" : tempDir("sluice-enforce");
  let obj: BpfObject;
  let cgroup: TestCgroup;
  let link: BpfLink;
  let client: string;
  let counts: BpfMap<number, bigint>;
  let listener: { port: number; stop(): void };

  beforeAll(async () => {
    const [bytes, built] = await Promise.all([compileBpf("probe", work), buildClient(work)]);
    client = built;
    obj = BpfObject.openMem(bytes, { name: "probe" });
    obj.load();
    counts = BpfMap.fromObjectMap(obj.map("counts"), counter);
    cgroup = TestCgroup.create("enforce");
    link = obj.program("probe_connect4").attachCgroup(cgroup.path);
    listener = listenLoopback();
  }, 60_000);

  afterAll(async () => {
    listener?.stop();
    link?.destroy();
    obj?.close();
    await cgroup?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  test("the program is a loaded cgroup sock_addr program with an fd", () => {
    const prog = obj.program("probe_connect4");
    expect(prog.type).toBe(ProgType.CGROUP_SOCK_ADDR);
    expect(prog.section).toBe("cgroup/connect4");
    expect(prog.fd).toBeGreaterThan(0);
    expect(link.fd).toBeGreaterThan(0);
    expect(bpfFdInfo(link.fd).kind).toBe("link");
  });

  test("port 9 is denied with EPERM inside the cgroup, allowed outside it", async () => {
    const before = counts.lookup(CNT.DENIED) ?? 0n;
    expect(await connectFrom(client, { cgroup: cgroup.path, port: 9, count: 3 })).toEqual({ EPERM: 3 });
    expect(counts.lookup(CNT.DENIED)).toBe(before + 3n);
    // Not in the cgroup: the program does not run; nothing listens on 9.
    expect(await connectFrom(client, { port: 9 })).toEqual({ ECONNREFUSED: 1 });
  });

  test("other ports are unaffected and counted as allowed", async () => {
    const before = counts.lookup(CNT.ALLOWED) ?? 0n;
    expect(await connectFrom(client, { cgroup: cgroup.path, port: listener.port, count: 5 })).toEqual({ ok: 5 });
    expect(counts.lookup(CNT.ALLOWED)).toBe(before + 5n);
  });

  test("the per-CPU counter sums to every connect the program saw", async () => {
    const percpu = BpfMap.fromObjectMap(obj.map("percpu_connects"), counter);
    const total = (counts.lookup(CNT.DENIED) ?? 0n) + (counts.lookup(CNT.ALLOWED) ?? 0n);
    expect(percpu.lookupPerCpu(0)).toHaveLength(loadLibbpf().possibleCpus);
    expect(percpu.sumPerCpu(0)).toBe(total);
    expect(() => percpu.lookup(0)).toThrow(/per-CPU/);
  });

  test("ring buffer: thousands of records arrive, none dropped", async () => {
    const records: Uint8Array[] = [];
    const reader = new RingBufferReader(obj.map("events"), { onRecord: (r) => records.push(r), intervalMs: 2 });
    reader.drain(); // what earlier tests produced
    records.length = 0;
    const start = reader.records;
    const droppedBefore = counts.lookup(CNT.DROPPED) ?? 0n;
    reader.start();
    const N = 20_000;
    expect(await connectFrom(client, { cgroup: cgroup.path, port: 9, count: N })).toEqual({ EPERM: N });
    await Bun.sleep(20);
    reader.stop({ drain: true });
    expect(reader.records - start).toBe(N);
    expect(records).toHaveLength(N);
    expect(counts.lookup(CNT.DROPPED)).toBe(droppedBefore);
    // Records are views into the reader's arena: read them through their byteOffset.
    const last = records.at(-1)!;
    const view = new DataView(last.buffer, last.byteOffset, last.byteLength);
    expect(last.length).toBe(24);
    expect(view.getUint32(4, true)).toBe(2); // verdict deny
    expect(view.getUint16(12, true)).toBe(9);
    expect(new Set(records.map((r) => new DataView(r.buffer, r.byteOffset).getUint32(0, true))).size).toBe(1); // one client pid
    expect(reader.running).toBe(false);
  }, 60_000);

  test("ring buffer: a throwing handler is counted, not fatal; stop() from inside a handler ends the poll", async () => {
    const reader = new RingBufferReader(obj.map("events"), { onRecord: () => {} });
    reader.drain();
    reader.stop();
    expect(await connectFrom(client, { cgroup: cgroup.path, port: 9, count: 10 })).toEqual({ EPERM: 10 });
    let seen = 0;
    const throwing = new RingBufferReader(obj.map("events"), {
      onRecord: () => {
        seen++;
        if (seen % 2 === 0) throw new Error("handler bug");
        if (seen === 5) throwing.stop();
      },
    });
    expect(throwing.poll()).toBe(0); // stopped at the 5th record: the poll reports the cancellation as 0
    expect(seen).toBe(5);
    expect(throwing.records).toBe(5);
    expect(throwing.handlerErrors).toBe(2);
    expect(throwing.poll()).toBe(0);
    expect(() => throwing.start()).toThrow(/stopped/);
  });

  test("an LPM_TRIE entry written from userspace denies that destination", async () => {
    const lpm = BpfMap.fromObjectMap(obj.map("deny_lpm"), mapCodec(lpmV4, u32Codec));
    expect(await connectFrom(client, { cgroup: cgroup.path, host: "127.0.0.77", port: 80 })).toEqual({ ECONNREFUSED: 1 });
    lpm.update({ prefixlen: 32, addr: [127, 0, 0, 77] }, 1);
    expect(await connectFrom(client, { cgroup: cgroup.path, host: "127.0.0.77", port: 80 })).toEqual({ EPERM: 1 });
    expect(await connectFrom(client, { cgroup: cgroup.path, host: "127.0.0.78", port: 80 })).toEqual({ ECONNREFUSED: 1 });
    expect(lpm.delete({ prefixlen: 32, addr: [127, 0, 0, 77] })).toBe(true);
    expect(await connectFrom(client, { cgroup: cgroup.path, host: "127.0.0.77", port: 80 })).toEqual({ ECONNREFUSED: 1 });
  });

  test("an inner map created from userspace and stored in ARRAY_OF_MAPS slot 0 drives the decision", async () => {
    const outer = obj.map("deny_ports_outer");
    const ports = createInnerMap({ type: MapType.HASH, name: "test_ports", maxEntries: 64 }, mapCodec(u32Codec, u32Codec));
    try {
      ports.update(listener.port, 1);
      expect(await connectFrom(client, { cgroup: cgroup.path, port: listener.port })).toEqual({ ok: 1 });
      setOuterSlot(outer, 0, ports);
      expect(outerSlotId(outer, 0)).toBe(bpfFdInfo(ports.fd).id);
      expect(await connectFrom(client, { cgroup: cgroup.path, port: listener.port })).toEqual({ EPERM: 1 });
      // A second generation, filled before it is swapped in: the swap is one map update.
      const next = createInnerMap({ type: MapType.HASH, name: "test_ports2", maxEntries: 64 }, mapCodec(u32Codec, u32Codec));
      setOuterSlot(outer, 0, next);
      next.close(); // the slot keeps the map alive
      expect(await connectFrom(client, { cgroup: cgroup.path, port: listener.port })).toEqual({ ok: 1 });
      expect(clearOuterSlot(outer, 0)).toBe(true);
      expect(outerSlotId(outer, 0)).toBeUndefined();
    } finally {
      ports.close();
    }
  });

  test("an inner map of the wrong shape is refused by the kernel with EINVAL", () => {
    const wrong = createInnerMap({ type: MapType.LPM_TRIE, name: "wrong", maxEntries: 4, flags: MapFlag.NO_PREALLOC }, mapCodec(lpmV4, u32Codec));
    try {
      expect(() => setOuterSlot(obj.map("deny_ports_outer"), 1, wrong)).toThrow(expect.objectContaining({ code: "ERR_BPF_MAP", errno: "EINVAL", call: "bpf_map_update_elem" }));
    } finally {
      wrong.close();
    }
  });

  test("link.detach() stops enforcement at once; the handle stays until destroyed", async () => {
    expect(link.detach()).toBe(true);
    expect(await connectFrom(client, { cgroup: cgroup.path, port: 9 })).toEqual({ ECONNREFUSED: 1 });
    expect(link.destroyed).toBe(false);
    link.destroy();
    expect(link.destroyed).toBe(true);
    expect(() => link.fd).toThrow(/destroyed/);
  });

  test("a raw-bytes codec reads the same counter", () => {
    const raw = BpfMap.fromObjectMap(obj.map("counts"), mapCodec(u32Codec, bytesCodec(8)));
    const bytes = raw.lookup(CNT.DENIED);
    expect(bytes && new DataView(bytes.buffer).getBigUint64(0, true)).toBe(counts.lookup(CNT.DENIED) ?? -1n);
  });
});
