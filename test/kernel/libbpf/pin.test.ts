/**
 * Fail closed: a link pinned by a process that has exited keeps enforcing; a restart adopts the
 * pinned map (its contents survive) and the pinned link; detachAll unpins everything and the
 * enforcement stops. Uses a pin directory of its own under /sys/fs/bpf (mounting bpffs if absent).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bpfFdInfo } from "../../../src/kernel/libbpf/fdinfo.ts";
import { BpfLink } from "../../../src/kernel/libbpf/link.ts";
import { BpfObject } from "../../../src/kernel/libbpf/object.ts";
import { BpfMap } from "../../../src/kernel/maps/bpf-map.ts";
import { mapCodec, u32Codec, u64Codec } from "../../../src/kernel/maps/codec.ts";
import { ensurePinDir, fsTypeOf, isBpffsMounted } from "../../../src/kernel/pin/bpffs.ts";
import { adoptPin, detachAll, listPins } from "../../../src/kernel/pin/pins.ts";
import { buildClient, compileBpf, connectFrom, FIXTURES, skipUnlessKernel, tempDir, TestCgroup } from "./support/kernel.ts";

const skip = skipUnlessKernel("kernel/libbpf/pin");
const counter = mapCodec(u32Codec, u64Codec);
const DENIED = 0;

async function runChild(objectPath: string, cgroup: string, pinDir: string, mode?: "update"): Promise<{ name: string; kind: string }[]> {
  const proc = Bun.spawn([process.execPath, join(FIXTURES, "pin-child.ts"), objectPath, cgroup, pinDir, ...(mode ? [mode] : [])], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`pin-child failed (${code}): ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1) ?? "[]");
}

/** The pinned link's id and the id of the program it runs. */
function linkIds(path: string): { link: number | undefined; prog: string | undefined } {
  const pin = adoptPin(path);
  try {
    return { link: pin.id, prog: bpfFdInfo(pin.fd).fields.prog_id };
  } finally {
    closeSync(pin.fd);
  }
}

function pinnedId(path: string): number | undefined {
  const pin = adoptPin(path);
  closeSync(pin.fd);
  return pin.id;
}

describe.skipIf(skip)("pinning survives the loading process", () => {
  const work = skip ? "" : tempDir("sluice-pin");
  const pinDir = `/sys/fs/bpf/sluice-test-${process.pid}`;
  const objectPath = join(work, "probe.bpf.o");
  let client: string;
  let cgroup: TestCgroup;

  beforeAll(async () => {
    writeFileSync(objectPath, await compileBpf("probe", work));
    client = await buildClient(work);
    cgroup = TestCgroup.create("pin");
  }, 60_000);

  afterAll(async () => {
    if (!skip && existsSync(pinDir)) detachAll(pinDir);
    await cgroup?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  test("ensurePinDir mounts bpffs when needed and creates a 0700 directory on it", () => {
    ensurePinDir(pinDir);
    expect(isBpffsMounted("/sys/fs/bpf")).toBe(true);
    expect(fsTypeOf(pinDir)).toBe("bpf");
    expect(listPins(pinDir)).toEqual([]);
  });

  test("pins outside bpffs are refused with a clear error", () => {
    expect(() => ensurePinDir(join(work, "not-bpffs"))).toThrow(expect.objectContaining({ code: "ERR_BPF_FS", message: expect.stringContaining("not on a bpffs") }));
  });

  test("a child loads, pins and exits: its link keeps denying", async () => {
    const pinned = await runChild(objectPath, cgroup.path, pinDir);
    expect(pinned).toEqual([
      { name: "connect4", kind: "link" },
      { name: "counts", kind: "map" },
    ]);
    expect(await connectFrom(client, { cgroup: cgroup.path, port: 9, count: 4 })).toEqual({ EPERM: 4 });
    const counts = BpfMap.adopt(`${pinDir}/counts`, counter);
    try {
      expect(counts.lookup(DENIED)).toBe(4n);
    } finally {
      counts.close();
    }
  }, 30_000);

  test("a restart adopts the pinned map (its counts go on) and swaps its program into the pinned link", async () => {
    const before = linkIds(`${pinDir}/connect4`);
    // The second run finds counts pinned (libbpf reuses it) and updates the link in place: no gap.
    expect(await runChild(objectPath, cgroup.path, pinDir, "update")).toHaveLength(2);
    const after = linkIds(`${pinDir}/connect4`);
    expect(after.link).toBe(before.link!);
    expect(after.prog).not.toBe(before.prog!);
    expect(await connectFrom(client, { cgroup: cgroup.path, port: 9, count: 2 })).toEqual({ EPERM: 2 });
    const counts = BpfMap.adopt(`${pinDir}/counts`, counter);
    try {
      expect(counts.lookup(DENIED)).toBe(6n);
    } finally {
      counts.close();
    }
  }, 30_000);

  test("bpf_link__open adopts the pinned link; destroying that handle leaves it attached", async () => {
    const link = BpfLink.open(`${pinDir}/connect4`);
    expect(link.fd).toBeGreaterThan(0);
    link.destroy();
    expect(await connectFrom(client, { cgroup: cgroup.path, port: 9 })).toEqual({ EPERM: 1 });
  });

  test("reuse_fd adopts a pinned map into a freshly opened object; ObjectMap.pin/unpin", () => {
    const obj = BpfObject.openMem(new Uint8Array(readFileSync(objectPath)), { name: "probe" });
    try {
      const pinned = adoptPin(`${pinDir}/counts`);
      try {
        obj.map("counts").reuseFd(pinned.fd);
      } finally {
        closeSync(pinned.fd); // libbpf keeps its own dup
      }
      obj.load();
      const counts = BpfMap.fromObjectMap(obj.map("counts"), counter);
      expect(counts.lookup(DENIED)).toBe(7n);
      expect(bpfFdInfo(obj.map("counts").fd).id).toBe(pinnedId(`${pinDir}/counts`));
      obj.map("percpu_connects").pin(`${pinDir}/extra`);
      expect(listPins(pinDir).map((p) => p.name)).toEqual(["connect4", "counts", "extra"]);
      obj.map("percpu_connects").unpin(`${pinDir}/extra`);
      expect(listPins(pinDir).map((p) => p.name)).toEqual(["connect4", "counts"]);
    } finally {
      obj.close();
    }
  });

  test("an adopted map with a codec of the wrong size is refused", () => {
    expect(() => BpfMap.adopt(`${pinDir}/counts`, mapCodec(u32Codec, u32Codec))).toThrow(/does not fit/);
  });

  test("detachAll unpins the link and the map: enforcement stops, the directory is gone", async () => {
    const removed = detachAll(pinDir);
    expect(removed.map((p) => `${p.kind}:${p.name}`)).toEqual(["link:connect4", "map:counts"]);
    expect(existsSync(pinDir)).toBe(false);
    expect(await connectFrom(client, { cgroup: cgroup.path, port: 9 })).toEqual({ ECONNREFUSED: 1 });
    expect(detachAll(pinDir)).toEqual([]);
  });
});
