/**
 * Failures come back as KernelError with a stable code, the errno NAME and the call: bad object
 * bytes, unknown program/map names, a program the verifier rejects (its reason in the message,
 * the log in `.log`, and the log lines in sluice's Logger), attaching to something that is not a
 * cgroup.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KernelError } from "../../../src/kernel/errors.ts";
import { errnoName, errnoNumber } from "../../../src/kernel/libbpf/errno.ts";
import { BpfObject } from "../../../src/kernel/libbpf/object.ts";
import { setLibbpfLogger } from "../../../src/kernel/libbpf/print.ts";
import { createLogger } from "../../../src/log/index.ts";
import { compileBpf, skipUnlessKernel, tempDir } from "./support/kernel.ts";

function thrown(fn: () => unknown): KernelError {
  try {
    fn();
  } catch (err) {
    if (err instanceof KernelError) return err;
    throw err;
  }
  throw new Error("expected a KernelError");
}

describe("errno names", () => {
  test("Linux, kernel-internal and libbpf codes, either sign", () => {
    expect(errnoName(1)).toBe("EPERM");
    expect(errnoName(-7)).toBe("E2BIG");
    expect(errnoName(95)).toBe("EOPNOTSUPP");
    expect(errnoName(133)).toBe("EHWPOISON");
    expect(errnoName(524)).toBe("ENOTSUPP");
    expect(errnoName(-4007)).toBe("LIBBPF_ERRNO__VERIFY");
    expect(errnoName(41)).toBe("E41");
    expect(errnoNumber("ENOENT")).toBe(2);
  });
});

const skip = skipUnlessKernel("kernel/libbpf/errors");

describe.skipIf(skip)("KernelError from the bindings", () => {
  const work = skip ? "" : tempDir("sluice-errors");
  let probe: Uint8Array;
  let rejected: Uint8Array;
  const lines: { level: string; msg: string }[] = [];
  beforeAll(async () => {
    setLibbpfLogger(createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) }));
    [probe, rejected] = await Promise.all([compileBpf("probe", work), compileBpf("rejected", work)]);
  }, 60_000);
  afterAll(() => {
    setLibbpfLogger(createLogger({ level: "warn" }).child({ component: "libbpf" }));
    rmSync(work, { recursive: true, force: true });
  });

  test("bytes that are not an ELF object: ERR_BPF_OPEN with an errno name", () => {
    const err = thrown(() => BpfObject.openMem(new TextEncoder().encode("definitely not an ELF file"), { name: "junk" }));
    expect(err.code).toBe("ERR_BPF_OPEN");
    expect(err.call).toBe("bpf_object__open_mem");
    expect(err.errno).toMatch(/^(E[A-Z0-9]+|LIBBPF_ERRNO__[A-Z0-9]+)$/);
    expect(err.message).toStartWith(`bpf_object__open_mem(junk): ${err.errno}`);
    expect(err.message).toEndWith("libbpf: elf: 'junk' is not a proper ELF object");
    expect(err.log).toEqual(["libbpf: elf: 'junk' is not a proper ELF object"]);
    expect(lines.at(-1)).toMatchObject({ level: "warn", msg: "libbpf: elf: 'junk' is not a proper ELF object" });
  });

  test("a truncated object is refused the same way", () => {
    const err = thrown(() => BpfObject.openMem(probe.subarray(0, 200), { name: "truncated" }));
    expect(err.code).toBe("ERR_BPF_OPEN");
    expect(err.errno).toBeDefined();
  });

  test("unknown program and map names: ERR_BPF_NOT_FOUND listing what exists", () => {
    const obj = BpfObject.openMem(probe, { name: "probe" });
    try {
      const p = thrown(() => obj.program("nope"));
      expect(p.code).toBe("ERR_BPF_NOT_FOUND");
      expect(p.call).toBe("bpf_object__find_program_by_name");
      expect(p.message).toBe('object probe has no program "nope" (it has: probe_connect4)');
      const m = thrown(() => obj.map("nope"));
      expect(m.code).toBe("ERR_BPF_NOT_FOUND");
      expect(m.message).toContain("counts");
    } finally {
      obj.close();
    }
    expect(() => obj.program("probe_connect4")).toThrow(/closed/);
  });

  test("a program the verifier rejects: ERR_BPF_LOAD, the verifier's reason in the message, the log routed to the Logger", () => {
    const obj = BpfObject.openMem(rejected, { name: "rejected" });
    try {
      const err = thrown(() => obj.load());
      expect(err.code).toBe("ERR_BPF_LOAD");
      expect(err.call).toBe("bpf_object__load");
      expect(err.errno).toBe("EACCES");
      expect(err.message).toMatch(/^bpf_object__load\(rejected\): EACCES \(.+\): .*invalid mem access/);
      expect(err.log.some((l) => l.includes("BEGIN PROG LOAD LOG"))).toBe(true);
      expect(lines.some((l) => l.level === "warn" && l.msg.includes("invalid mem access"))).toBe(true);
      expect(obj.loaded).toBe(false);
    } finally {
      obj.close();
    }
  });

  test("attaching to a directory that is not a cgroup fails with the errno", () => {
    const obj = BpfObject.openMem(probe, { name: "probe" });
    const notCgroup = join(work, "plain-dir");
    mkdirSync(notCgroup);
    try {
      obj.load();
      const err = thrown(() => obj.program("probe_connect4").attachCgroup(notCgroup));
      expect(err.code).toBe("ERR_BPF_ATTACH");
      expect(err.call).toBe("bpf_program__attach_cgroup");
      expect(err.errno).toBe("EBADF");
    } finally {
      obj.close();
    }
  });
});
