#!/usr/bin/env bun
/**
 * The broker's per-request cost on the proxy's data path (Injector.decide), next to a baseline
 * measured in the same run: a request with no binding (passed through untouched). Cases: static
 * secret injection (stat of the 0600 file per request + audit record), and a sluice token swapped
 * for the stored upstream token (verification cached by hash, vault in memory, audit record).
 * Real parts from the broker tests' fixture (LMDB, audit log, oidc-provider for the one upstream
 * authorization). Cases interleaved over RUNS runs of ~RUN_MS each; medians of wall time and of
 * process CPU time per call (CPU is the steadier figure on a shared machine). `bun bench/index.ts broker`
 */
import { AGENT, ALICE, STATIC_TOOL, THIEF, startBrokerFixture } from "../test/support/broker/fixture.ts";

const RUNS = 7;
const RUN_MS = 300;

interface Cost {
  wall: number;
  cpu: number;
}

/** One run of `op` for ~RUN_MS: wall µs and process CPU µs (all threads: LMDB's writer too) per call. */
async function run(op: () => unknown): Promise<Cost> {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  while ((elapsed = performance.now() - start) < RUN_MS) {
    for (let i = 0; i < 50; i++) await op();
    n += 50;
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: (elapsed * 1000) / n, cpu: (cpu.user + cpu.system) / n };
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;

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
  for (const [, op] of cases) for (let w = 0; w < 200; w++) await op();
  // Rounds interleave the cases, so load from elsewhere on the machine hits them alike.
  const costs = cases.map(() => [] as Cost[]);
  for (let r = 0; r < RUNS; r++) for (let c = 0; c < cases.length; c++) costs[c]!.push(await run(cases[c]![1]));
  console.log(`broker injector: medians of ${RUNS} interleaved runs of ~${RUN_MS} ms; wall µs per decide() and process CPU µs per decide()`);
  const baseWall = median(costs[0]!.map((c) => c.wall));
  const baseCpu = median(costs[0]!.map((c) => c.cpu));
  for (let c = 0; c < cases.length; c++) {
    const wall = median(costs[c]!.map((x) => x.wall));
    const cpu = median(costs[c]!.map((x) => x.cpu));
    console.log(`${cases[c]![0].padEnd(40)} ${wall.toFixed(2).padStart(8)} µs wall (+${(wall - baseWall).toFixed(2)})  ${cpu.toFixed(2).padStart(8)} µs CPU (+${(cpu - baseCpu).toFixed(2)} over baseline)`);
  }
  await f.audit.flush();
} finally {
  await f.close();
}
