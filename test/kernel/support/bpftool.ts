/**
 * bpftool as the tests' loader (independent of sluice's own libbpf bindings): load and pin
 * sluice.bpf.o, write one compiled generation into fresh inner maps, flip the active slot, read
 * counters, attach to a cgroup.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { KernelPolicy } from "../../../src/kernel/compile/index.ts";
import { CODECS, COUNTERS } from "../../../src/kernel/layout.ts";

export function bpftoolPath(): string | undefined {
  return Bun.which("bpftool", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` }) ?? undefined;
}

export function bpftool(...args: string[]): string {
  const r = Bun.spawnSync([bpftoolPath()!, ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`bpftool ${args.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

const hex = (b: Uint8Array) => ["hex", ...[...b].map((x) => x.toString(16).padStart(2, "0"))];

/** bpftool prog loadall: programs pinned under <dir>/progs, maps under <dir>/maps. */
export function loadAll(obj: string, dir: string): { progs: string; maps: string } {
  const progs = join(dir, "progs");
  const maps = join(dir, "maps");
  bpftool("prog", "loadall", obj, progs, "pinmaps", maps);
  return { progs, maps };
}

/**
 * Fill new inner maps with `k` and store them in `slot` of every outer map (the inactive slot:
 * nothing reads it until flip()).
 */
export function writeGeneration(dir: string, maps: string, slot: number, k: KernelPolicy): void {
  const inner = join(dir, `gen${slot}-${Date.now()}`);
  mkdirSync(inner);
  const create = (name: string, type: string, key: number, value: number, entries: number, flags = 0) => {
    const path = join(inner, name);
    bpftool("map", "create", path, "type", type, "key", String(key), "value", String(value), "entries", String(entries), "name", name, "flags", String(flags));
    return path;
  };
  const r4 = create("r4", "lpm_trie", CODECS.rulesV4.keySize, CODECS.rulesV4.valueSize, 1024, 1);
  for (const e of k.rulesV4) bpftool("map", "update", "pinned", r4, "key", ...hex(CODECS.rulesV4.encodeKey(e)), "value", ...hex(CODECS.rulesV4.encodeValue(e.value)));
  const r6 = create("r6", "lpm_trie", CODECS.rulesV6.keySize, CODECS.rulesV6.valueSize, 1024, 1);
  for (const e of k.rulesV6) bpftool("map", "update", "pinned", r6, "key", ...hex(CODECS.rulesV6.encodeKey(e)), "value", ...hex(CODECS.rulesV6.encodeValue(e.value)));
  const wl = create("wl", "hash", CODECS.workloads.keySize, CODECS.workloads.valueSize, 64);
  for (const [id, w] of k.workloads) bpftool("map", "update", "pinned", wl, "key", ...hex(CODECS.workloads.encodeKey(id)), "value", ...hex(CODECS.workloads.encodeValue({ flags: w.flags })));
  const exe = create("exe", "hash", CODECS.exe.keySize, CODECS.exe.valueSize, 64);
  for (const e of k.exe) bpftool("map", "update", "pinned", exe, "key", ...hex(CODECS.exe.encodeKey(e)), "value", ...hex(CODECS.exe.encodeValue({ workload: e.workload, rank: e.rank })));
  const key = hex(CODECS.outer.encodeKey(slot));
  for (const [outer, path] of [["rules_v4_outer", r4], ["rules_v6_outer", r6], ["workloads_outer", wl], ["exe_class_outer", exe]] as const) {
    bpftool("map", "update", "pinned", join(maps, outer), "key", ...key, "value", "pinned", path);
  }
}

/** Make `slot` the one in force (one word written: programs read it once per call). */
export function flip(maps: string, slot: number, generation: number): void {
  const v = CODECS.state.encodeValue({ activeSlot: slot, generation, appliedAtNs: process.hrtime.bigint() });
  bpftool("map", "update", "pinned", join(maps, "state"), "key", ...hex(CODECS.state.encodeKey(0)), "value", ...hex(v));
}

/** Sum over CPUs of every counter. */
export function counters(maps: string): Record<keyof typeof COUNTERS, number> {
  const out = {} as Record<keyof typeof COUNTERS, number>;
  for (const [name, idx] of Object.entries(COUNTERS) as Array<[keyof typeof COUNTERS, number]>) {
    if (name === "MAX") continue;
    const j = JSON.parse(bpftool("-j", "map", "lookup", "pinned", join(maps, "counters"), "key", ...hex(CODECS.counters.encodeKey(idx)))) as {
      values: Array<{ value: string[] }>;
    };
    out[name] = j.values.reduce((n, v) => n + Number(CODECS.counters.decodeValue(new Uint8Array(v.value.map((x) => parseInt(x, 16))))), 0);
  }
  return out;
}

/** tgids that have a procs entry. */
export function procsTgids(maps: string): number[] {
  const j = JSON.parse(bpftool("-j", "map", "dump", "pinned", join(maps, "procs"))) as Array<{ key: string[] | number }>;
  return j.map((e) => (Array.isArray(e.key) ? CODECS.procs.decodeKey(new Uint8Array(e.key.map((x) => parseInt(x, 16)))) : e.key));
}
