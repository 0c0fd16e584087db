/** orig_dst records → what the proxy gets from lookupOriginalDestination (no kernel: a map stub). */
import { expect, test } from "bun:test";
import { CODECS, type OrigDstKey, type SluiceRedirect } from "../../../src/kernel/layout.ts";
import { lookupOriginalDestination } from "../../../src/kernel/original-destination.ts";

const rec = (addr: number[], family: number, v4Mapped = false): SluiceRedirect => {
  const a = new Uint8Array(16);
  a.set(addr);
  return { addr: a, family, port: 8443, v4Mapped, pid: 42, tid: 43, uid: 1000, gid: 1001, workload: 7, ruleId: 3, cgroupId: 99n, tsNs: 1n };
};

function stub(entries: Array<[OrigDstKey, SluiceRedirect]>) {
  const byKey = new Map(entries.map(([k, v]) => [`${k.family}/${k.port}`, v]));
  return { lookup: (k: OrigDstKey) => byKey.get(`${k.family}/${k.port}`) };
}

test("IPv4, v4-mapped (found under IPv4) and IPv6 records decode to address text and process facts", () => {
  const map = stub([
    [{ family: 2, port: 40000 }, rec([127, 0, 0, 2], 2)],
    [{ family: 2, port: 40001 }, rec([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3], 10, true)],
    [{ family: 10, port: 40000 }, rec([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7], 10)],
  ]);
  expect(lookupOriginalDestination(map, { localPort: 40000, family: 4 })).toEqual({ address: "127.0.0.2", port: 8443, pid: 42, tid: 43, uid: 1000, gid: 1001, cgroupId: 99n, workload: 7, ruleId: 3, family: 4, v4Mapped: false });
  expect(lookupOriginalDestination(map, { localPort: 40001, family: 2 })).toMatchObject({ address: "10.1.2.3", family: 6, v4Mapped: true });
  expect(lookupOriginalDestination(map, { localPort: 40000, family: 6 })).toMatchObject({ address: "2001:db8::7", family: 6 });
  expect(lookupOriginalDestination(map, { localPort: 40002, family: 4 })).toBeUndefined();
  expect(() => lookupOriginalDestination(map, { localPort: 0, family: 4 })).toThrow(RangeError);
  expect(() => lookupOriginalDestination(map, { localPort: 1, family: 5 })).toThrow(RangeError);
});

test("the codec round-trips a record and a key", () => {
  const r = rec([127, 0, 0, 1], 2);
  expect(CODECS.origDst.decodeValue(CODECS.origDst.encodeValue(r))).toEqual(r);
  expect([...CODECS.origDst.encodeKey({ family: 2, port: 0x1234 })]).toEqual([2, 0, 0x34, 0x12]);
});
