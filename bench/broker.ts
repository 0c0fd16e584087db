#!/usr/bin/env bun
/**
 * The broker's per-request cost on the proxy's data path (Injector.decide), next to a baseline
 * measured in the same run: a request with no binding (passed through untouched). Cases: static
 * secret injection (stat of the 0600 file per request + audit record), and a sluice token swapped
 * for the stored upstream token (verification cached by hash, vault in memory, audit record).
 * Real parts from the broker tests' fixture (LMDB, audit log, oidc-provider for the one upstream
 * authorization). Medians of RUNS runs of ~RUN_MS each. `bun bench/index.ts broker`
 */
import { AGENT, ALICE, STATIC_TOOL, THIEF, startBrokerFixture } from "../test/support/broker/fixture.ts";

const RUNS = 5;
const RUN_MS = 400;

async function usPerOp(op: () => unknown): Promise<number> {
  const results: number[] = [];
  for (let w = 0; w < 200; w++) await op();
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while ((elapsed = performance.now() - start) < RUN_MS) {
      for (let i = 0; i < 50; i++) await op();
      n += 50;
    }
    results.push((elapsed * 1000) / n);
  }
  return results.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

const f = await startBrokerFixture();
try {
  const res = await f.authorizeUpstream(f.pending());
  if (res.status !== 303) throw new Error(`upstream authorization failed: ${res.status}`);
  const token = await f.tokens.mint({ sub: AGENT, actor: ALICE.spiffeId, aud: f.resource, ttlSeconds: 3600 });
  const cases: [string, () => unknown][] = [
    ["no binding (baseline: passed through)", () => f.broker.injector.decide(f.connection(THIEF), f.head())],
    ["static secret injected", () => f.broker.injector.decide(f.connection(STATIC_TOOL), f.head())],
    ["sluice token → upstream token", () => f.broker.injector.decide(f.connection(AGENT), f.head(`Bearer ${token}`))],
  ];
  let base = 0;
  for (const [name, op] of cases) {
    const us = await usPerOp(op);
    if (base === 0) base = us;
    console.log(`${name.padEnd(40)} ${us.toFixed(2).padStart(8)} µs/request  (${(us / base).toFixed(1)}× baseline, +${(us - base).toFixed(2)} µs)`);
  }
  await f.audit.flush();
} finally {
  await f.close();
}
