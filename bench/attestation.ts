#!/usr/bin/env bun
/**
 * Attestation of a live pid per second: cached (Attestor hit), cold with the executable's hash
 * cached by inode, and cold with nothing cached; against a baseline measured in the same run (a
 * bare readFileSync("/proc/self/stat") loop, the cheapest procfs read there is). Target: cached
 * ≥ 100,000/s. Medians of 5 rounds. Run: `bun bench/attestation.ts`.
 */
import { readFileSync, realpathSync } from "node:fs";
import { Attestor, readProcessFacts } from "../src/identity/index.ts";
import { buildPolicy } from "../src/policy/index.ts";

const ROUNDS = 5;
const ROUND_MS = 400;

/** Calls per second of `f`, run back to back for about ROUND_MS; median of ROUNDS rounds. */
async function rate(f: () => unknown, isAsync: boolean): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ROUND_MS) {
      for (let i = 0; i < 64; i++) isAsync ? await f() : f();
      n += 64;
      now = performance.now();
    }
    rates.push((n / (now - start)) * 1000);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(ROUNDS / 2)] as number;
}

// A policy with 50 workloads, the target (a real `sleep`) matching the last one.
const exe = realpathSync(Bun.which("sleep") ?? "/bin/sleep");
const target = Bun.spawn([exe, "600"], { stdio: ["ignore", "ignore", "ignore"] });
const docs = Array.from({ length: 50 }, (_, i) =>
  [
    "apiVersion: sluice/v1alpha1",
    "kind: WorkloadIdentity",
    `metadata: {name: w${i}}`,
    "spec:",
    `  workloadID: w${i}`,
    "  selectors:",
    `    - process:uid: [${i === 49 ? process.getuid?.() ?? 0 : 10_000 + i}]`,
    `      process:binary:path: ${i === 49 ? exe : `/opt/agent-${i}`}`,
  ].join("\n"),
);
const built = buildPolicy([{ path: "bench.yaml", text: docs.join("\n---\n") }], { trustDomain: "bench.local" });
if (!built.snapshot) throw new Error("bench policy does not compile");
const snapshot = built.snapshot;
const pid = target.pid;

const attestor = new Attestor({ sweepIntervalMs: 0, maxAgeMs: 60_000 });
const warm = await attestor.identify(pid, snapshot);

const baseline = await rate(() => readFileSync("/proc/self/stat"), false);
const cached = await rate(() => attestor.identify(pid, snapshot), true);
const cachedSync = await rate(() => attestor.identifyCached(pid, snapshot), false);
const coldHashCached = await rate(() => {
  attestor.clear();
  return attestor.identify(pid, snapshot);
}, true);
const coldNothingCached = await rate(() => {
  attestor.clear({ hashes: true });
  return attestor.identify(pid, snapshot);
}, true);
const factsOnly = await rate(() => readProcessFacts(pid), true);

attestor.close();
target.kill();
await target.exited;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US").padStart(9);
const ratio = (n: number) => `${(n / baseline).toFixed(2)}×`;
console.log(`attestation of pid ${pid} (${warm.facts.exePath}, ${warm.facts.exeSize} bytes) against 50 workloads; matched: ${warm.match.workload?.name}`);
console.log(`medians of ${ROUNDS} × ${ROUND_MS} ms; ratio = ops/s ÷ baseline`);
console.log(`  baseline readFileSync(/proc/self/stat)      ${fmt(baseline)}/s   1.00×`);
console.log(`  cached    attestor.identify (awaited)       ${fmt(cached)}/s   ${ratio(cached)}   target ≥ 100,000/s: ${cached >= 100_000 ? "met" : "MISSED"}`);
console.log(`  cached    attestor.identifyCached (sync)    ${fmt(cachedSync)}/s   ${ratio(cachedSync)}`);
console.log(`  cold      hash cached by inode              ${fmt(coldHashCached)}/s   ${ratio(coldHashCached)}`);
console.log(`  cold      nothing cached (hash ${warm.facts.exeSize} B)    ${fmt(coldNothingCached)}/s   ${ratio(coldNothingCached)}`);
console.log(`  readProcessFacts, no caches at all          ${fmt(factsOnly)}/s   ${ratio(factsOnly)}`);
