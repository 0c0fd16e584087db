import { expect, test } from "bun:test";
import { bpffsMounted, effectiveCapabilities } from "../../../src/kernel/host-probes.ts";

test("effective capabilities from /proc/self/status", () => {
  expect(effectiveCapabilities("Name:\tx\nCapEff:\t000001ffffffffff\n")).toBe(0x1ffffffffffn);
  expect(effectiveCapabilities("Name:\tx\nCapEff:\t0000000000000000\n")).toBe(0n);
  expect(effectiveCapabilities("no caps line")).toBe(0n);
});

test("bpffs is recognised only as type bpf at the path", () => {
  const mounts = "sysfs /sys sysfs rw 0 0\nbpf /sys/fs/bpf bpf rw,relatime 0 0\n";
  expect(bpffsMounted("/sys/fs/bpf", mounts)).toBe(true);
  expect(bpffsMounted("/sys/fs/bpf", "tmpfs /sys/fs/bpf tmpfs rw 0 0\n")).toBe(false);
  expect(bpffsMounted("/other", mounts)).toBe(false);
});
