#!/usr/bin/env bun
/**
 * Ring buffer throughput: events/s that reach a JS handler through RingBufferReader (poll with
 * timeout 0 from a 1 ms timer, one JSCallback per record, each record copied out) without any
 * being dropped. A `tc` program (bench/ringbuf.bpf.c) writes one sluice_event-sized record per
 * run; a child process triggers it with BPF_PROG_TEST_RUN at paced rates, then unpaced.
 * Baseline in the same run: the same trigger running a program that emits nothing (the rate
 * the trigger itself can reach). Needs root; target ≥ 200k events/s with zero drops.
 * Run: bun bench/ringbuf.ts
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sluiceEvent } from "../src/kernel/layout.ts";
import { BpfObject } from "../src/kernel/libbpf/object.ts";
import { BpfMap } from "../src/kernel/maps/bpf-map.ts";
import { mapCodec, u32Codec, u64Codec } from "../src/kernel/maps/codec.ts";
import { RingBufferReader } from "../src/kernel/ringbuf-reader.ts";

const TARGET = 200_000;
const RATES = [250_000, 500_000, 1_000_000];
const ROUNDS = 3;
const SECONDS = 1;
const BATCH = 256;

if (process.getuid?.() !== 0) {
  console.log("ringbuf: skipped: needs root (bpf())");
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), "sluice-bench-ringbuf-"));
const objectPath = join(work, "ringbuf.bpf.o");
const triple = process.arch === "x64" ? "x86_64-linux-gnu" : "aarch64-linux-gnu";
const cc = Bun.spawnSync(["clang", "-target", "bpf", "-O2", "-g", `-I/usr/include/${triple}`, `-DEVENT_SIZE=${sluiceEvent.size}`, "-c", join(import.meta.dir, "ringbuf.bpf.c"), "-o", objectPath], { stderr: "pipe" });
if (cc.exitCode !== 0) throw new Error(`clang failed: ${cc.stderr}`);

const obj = BpfObject.openMem(new Uint8Array(readFileSync(objectPath)), { name: "bench_ringbuf" });
obj.load();
const stats = BpfMap.fromObjectMap(obj.map("stats"), mapCodec(u32Codec, u64Codec));
const ringBytes = obj.map("events").maxEntries;

/**
 * Runs the producer child on `fd` (inherited as its fd 3): once it says `ready`, `beforeGo` runs
 * and the child is told to start. Returns the runs and how long it produced.
 */
async function produce(fd: number, rate: number, beforeGo: () => void = () => {}): Promise<{ runs: number; seconds: number }> {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "_ringbuf-producer.ts"), String(rate), String(SECONDS * 1000), String(BATCH)], {
    stdio: ["pipe", "pipe", "inherit", fd],
  });
  const lines = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error("producer exited before it was ready");
    text += value;
  }
  beforeGo();
  proc.stdin.write("go\n");
  await proc.stdin.end();
  for (;;) {
    const { value, done } = await lines.read();
    if (done) break;
    text += value;
  }
  if ((await proc.exited) !== 0) throw new Error(`producer exited ${proc.exitCode}`);
  const r = JSON.parse(text.slice(text.indexOf("ready\n") + 6)) as { runs: number; elapsedMs: number };
  return { runs: r.runs, seconds: r.elapsedMs / 1000 };
}

interface Round {
  produced: number;
  delivered: number;
  dropped: number;
  /** Records delivered per second of production. */
  perSec: number;
}

async function round(rate: number): Promise<Round> {
  let checksum = 0;
  const reader = new RingBufferReader(obj.map("events"), {
    onRecord: (r) => {
      checksum ^= r[8]!; // touch the record like a decoder would
    },
    intervalMs: 1,
  });
  const dropsBefore = stats.lookup(0) ?? 0n;
  const produced = await produce(obj.program("emit").fd, rate, () => reader.start());
  await Bun.sleep(10);
  reader.stop({ drain: true });
  void checksum;
  return { produced: produced.runs, delivered: reader.records, dropped: Number((stats.lookup(0) ?? 0n) - dropsBefore), perSec: reader.records / produced.seconds };
}

const k = (n: number) => `${(n / 1000).toFixed(0)}k`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const trigger = await produce(obj.program("baseline").fd, 0);
const triggerPerSec = trigger.runs / trigger.seconds;
console.log(`ring buffer ${ringBytes >> 10} KiB, records of ${sluiceEvent.size} bytes (sluice_event), poll every 1 ms, ${ROUNDS} rounds of ${SECONDS} s per rate`);
console.log(`baseline: the trigger alone (BPF_PROG_TEST_RUN, program without ring buffer output): ${k(triggerPerSec)} runs/s`);
console.log("paced rate  delivered/s (median)  dropped per round");
let best = 0;
for (const rate of RATES) {
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(rate));
  const clean = rounds.every((r) => r.dropped === 0 && r.delivered === r.produced);
  const perSec = median(rounds.map((r) => r.perSec));
  if (clean) best = Math.max(best, perSec);
  console.log(`${k(rate).padStart(9)}/s  ${k(perSec).padStart(20)}  ${rounds.map((r) => r.dropped).join(", ")}${clean ? "" : "  (drops)"}`);
}
const unpaced = await round(0);
console.log(`unpaced: the kernel wrote ${k(unpaced.produced / SECONDS)} records/s; the reader took ${k(unpaced.perSec)}/s (capacity; the rest dropped)`);
obj.close();
rmSync(work, { recursive: true, force: true });
console.log(`best paced rate without a drop in any round: ${k(best)} events/s = ${(best / triggerPerSec).toFixed(3)}× the bare trigger; target ≥ ${k(TARGET)}/s: ${best >= TARGET ? "met" : "NOT met"}`);
process.exit(best >= TARGET ? 0 : 1);
