/**
 * C ↔ TypeScript struct check (STYLE.md "C ↔ TypeScript structs"): sluice_shared.h as the
 * compilers see it must equal src/kernel/layout.ts, every struct, field, offset, size and enum.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CODECS, ENUMS, EXE_ANY_ID, STRUCTS, sluiceEvent, sluiceLpmV4, sluiceRule, toKernelDev, splitKernelDev } from "../../../src/kernel/layout.ts";
import { compareLayouts, findTool, readCLayout, type CLayout, type TsLayout } from "./layout-check.ts";

const HEADER = resolve(import.meta.dir, "../../../bpf/include/sluice_shared.h");
const tools = { clang: findTool(["clang", "clang-14"]), bpftool: findTool(["bpftool"]), cc: findTool(["cc", "gcc", "clang"]) };
const missing = Object.entries(tools).filter(([, p]) => !p).map(([n]) => n);
if (missing.length > 0) console.error(`layout.test: skipping the C comparison: ${missing.join(", ")} not found (apt-get install clang bpftool gcc)`);

function tsLayout(structs = STRUCTS, enums = ENUMS): TsLayout {
  const flat = new Map<string, number>();
  for (const [prefix, values] of Object.entries(enums)) for (const [k, v] of Object.entries(values)) flat.set(`SLUICE_${prefix}${k}`, v);
  return { structs, enums: flat };
}

describe.skipIf(missing.length > 0)("sluice_shared.h ↔ layout.ts", () => {
  let c: CLayout;
  beforeAll(() => {
    c = readCLayout(HEADER, tools as { clang: string; bpftool: string; cc: string });
  });

  test("every struct, field, offset, size and enum value agree", () => {
    expect(compareLayouts(c, tsLayout())).toEqual([]);
    expect(c.structs.size).toBe(14);
  });

  test("SLUICE_EXE_ANY_ID (a #define: not in BTF) equals EXE_ANY_ID", () => {
    const m = /#define SLUICE_EXE_ANY_ID (0x[0-9a-f]+)u/.exec(readFileSync(HEADER, "utf8"));
    expect(Number(m?.[1])).toBe(EXE_ANY_ID);
  });

  test("a field added in layout.ts only fails the check", () => {
    const ev = STRUCTS.sluice_event!;
    const extra = { ...STRUCTS, sluice_event: { ...ev, fields: { ...ev.fields, extra: { offset: 112, size: 4 } } } };
    expect(compareLayouts(c, tsLayout(extra as typeof STRUCTS))).toContain("struct sluice_event: fields [type, verdict, pid, tgid, ppid, uid, gid, workload, rule_id, family, dport, proto, hook, pad, proc_flags, cgroup_id, ts_ns, exe_ino, exe_dev, generation, addr, comm] in C, [type, verdict, pid, tgid, ppid, uid, gid, workload, rule_id, family, dport, proto, hook, pad, proc_flags, cgroup_id, ts_ns, exe_ino, exe_dev, generation, addr, comm, extra] in layout.ts");
  });

  test("a field added in the header only (in place of padding) fails the check", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-layout-mut-"));
    try {
      const text = readFileSync(HEADER, "utf8").replace("__u8 flags;       /* enum sluice_range_flags */\n\t__u8 pad[2];", "__u8 flags;\n\t__u8 extra;\n\t__u8 pad[1];");
      expect(text).toContain("__u8 extra;");
      writeFileSync(join(dir, "sluice_shared.h"), text);
      const mutated = readCLayout(join(dir, "sluice_shared.h"), tools as { clang: string; bpftool: string; cc: string });
      const problems = compareLayouts(mutated, tsLayout());
      expect(problems).toContain("struct sluice_port_range: fields [lo, hi, proto_mask, flags, extra, pad] in C, [lo, hi, proto_mask, flags, pad] in layout.ts");
      expect(problems).toContain("sluice_port_range.pad: offset 7 size 1 in C, offset 6 size 2 in layout.ts");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an enum value changed on one side fails the check", () => {
    const enums = { ...ENUMS, CNT_: { ...ENUMS.CNT_, DENIED: 9 } };
    expect(compareLayouts(c, tsLayout(STRUCTS, enums))).toContain("SLUICE_CNT_DENIED: 1 in C, 9 in layout.ts");
  });
});

describe("codecs", () => {
  test("rule values round-trip and keep unused ranges zero", () => {
    const v = { ruleId: 7, allPortsMask: 2, ranges: [{ lo: 443, hi: 443, protoMask: 1 }, { lo: 5000, hi: 6000, protoMask: 3 }] };
    const b = sluiceRule.encode(v);
    expect(b.byteLength).toBe(136);
    expect([...b.subarray(0, 8)]).toEqual([7, 0, 0, 0, 2, 2, 0, 0]);
    expect(b.subarray(24).every((x) => x === 0)).toBe(true);
    expect(sluiceRule.decode(b)).toEqual(v);
    expect(() => sluiceRule.encode({ ...v, ranges: Array(17).fill(v.ranges[0]) })).toThrow(/17 ranges/);
  });

  test("exe_class keys: an absent uid/gid is the wildcard (uid_t)-1; values carry workload and rank", () => {
    const b = CODECS.exe.encodeKey({ ino: 5n, dev: 0x0fd00000, uid: 1000 });
    expect(b.byteLength).toBe(24);
    expect([...b.subarray(12, 24)]).toEqual([0xe8, 0x03, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    expect(CODECS.exe.decodeKey(b)).toEqual({ ino: 5n, dev: 0x0fd00000, uid: 1000 });
    expect(CODECS.exe.decodeKey(CODECS.exe.encodeKey({ ino: 0n, dev: 0, gid: 0 }))).toEqual({ ino: 0n, dev: 0, gid: 0 });
    expect([...CODECS.exe.encodeValue({ workload: 3, rank: 258 })]).toEqual([3, 0, 0, 0, 2, 1, 0, 0]);
  });

  test("LPM keys carry 32 workload bits before the address prefix", () => {
    const k = { workload: 3, prefixLen: 24, addr: new Uint8Array([10, 1, 2, 0]) };
    const b = sluiceLpmV4.encode(k);
    expect([...b]).toEqual([56, 0, 0, 0, 3, 0, 0, 0, 10, 1, 2, 0]);
    expect(sluiceLpmV4.decode(b)).toEqual(k);
    expect(CODECS.rulesV6.keySize).toBe(24);
    expect(CODECS.rulesV4.valueSize).toBe(136);
  });

  test("events decode, comm stops at NUL, encode into a caller's buffer", () => {
    const e = {
      type: 1, verdict: 2, pid: 10, tgid: 10, ppid: 0, uid: 1000, gid: 1000, workload: 4, ruleId: 0, family: 2, dport: 443, proto: 6, hook: 1,
      procFlags: 1, cgroupId: 99n, tsNs: 12345n, exeIno: 0n, exeDev: 0, generation: 3, addr: new Uint8Array(16).fill(0).map((_, i) => (i < 4 ? [1, 2, 3, 4][i]! : 0)), comm: "curl",
    };
    const out = new Uint8Array(200).fill(0xee);
    sluiceEvent.encode(e, out);
    expect(out[112]).toBe(0xee);
    expect(sluiceEvent.decode(out.subarray(0, 112))).toEqual(e);
  });

  test("stat st_dev → kernel dev_t", () => {
    // 253:0 (virtio) → st_dev 0xfd00; 259:65536 exercises the high minor bits.
    expect(toKernelDev(0xfd00)).toBe(253 << 20);
    const st = (259 << 8) | (65536 & 0xff) | ((65536 & ~0xff) << 12);
    expect(splitKernelDev(toKernelDev(st))).toEqual({ major: 259, minor: 65536 });
  });
});
