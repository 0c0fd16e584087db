#!/usr/bin/env bun
/**
 * Token endpoint throughput: sluice vs oidc-provider 9 configured equivalently (in-memory adapter,
 * ES256 JWT access tokens, PKCE S256, resource indicators, rotating refresh tokens, a public
 * client), both on loopback in their own processes (sluice on Bun, oidc-provider on Node), measured
 * in the same run with the same load generator (concurrent fetch keep-alive from this process).
 *
 * Per round and server: authorization_code exchanges/s (codes minted beforehand, outside the
 * timing, as the authorize step would leave them), refreshes/s (each refresh token rotated once),
 * and discovery + JWKS requests/s; also the server process's CPU time per request (user + system
 * from /proc, all its threads), the steadier figure on a shared machine. Prints medians of ROUNDS
 * and the sluice/oidc-provider ratios.
 * Target: sluice ≥ 2× oidc-provider on both token figures.
 * Run: bun bench/token.ts   (env: ROUNDS=5 N=2000 CONCURRENCY=32)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const N = Number(process.env.N ?? 2000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const TARGET_RATIO = 2;

interface Server {
  name: string;
  url: string;
  control: string;
  resource: string;
  redirectUri: string;
  clientId: string;
  tokenPath: string;
  jwks: string;
  discovery: string;
  proc: Bun.Subprocess;
}

async function start(name: string, cmd: string[]): Promise<Server> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "ignore", cwd: join(import.meta.dir, "..") });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`${name} exited before it was ready`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { name, proc, ...JSON.parse(text.split("\n")[0]!) };
}

/** CPU seconds (user + system, every thread) the process has used. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

interface Measured {
  perSecond: number;
  cpuMicros: number;
}

let measuredPid = 0;

async function pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<Measured> {
  let next = 0;
  const cpu0 = cpuSeconds(measuredPid);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: items.length / seconds, cpuMicros: ((cpuSeconds(measuredPid) - cpu0) * 1e6) / items.length };
}

async function tokenRequest(s: Server, params: Record<string, string>): Promise<Record<string, string>> {
  const res = await fetch(`${s.url}${s.tokenPath}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(params) });
  const body = (await res.json()) as Record<string, string>;
  if (res.status !== 200) throw new Error(`${s.name}: token request failed ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function codes(s: Server, n: number): Promise<{ code: string; verifier: string }[]> {
  const out: { code: string; verifier: string }[] = [];
  for (let i = 0; i < n; i += 500) out.push(...((await (await fetch(`${s.control}?n=${Math.min(500, n - i)}`, { method: "POST" })).json()) as { code: string; verifier: string }[]));
  return out;
}

const exchange = (s: Server, c: { code: string; verifier: string }) =>
  tokenRequest(s, { grant_type: "authorization_code", client_id: s.clientId, code: c.code, code_verifier: c.verifier, redirect_uri: s.redirectUri, resource: s.resource });

type Figures = { code: Measured; refresh: Measured; discovery: Measured };

async function round(s: Server): Promise<Figures> {
  measuredPid = s.proc.pid;
  const minted = await codes(s, N);
  const refreshTokens: string[] = [];
  const code = await pool(minted, async (c) => {
    refreshTokens.push((await exchange(s, c)).refresh_token!);
  });
  const refresh = await pool(refreshTokens, async (rt) => {
    await tokenRequest(s, { grant_type: "refresh_token", client_id: s.clientId, refresh_token: rt });
  });
  const urls = Array.from({ length: N * 2 }, (_, i) => (i % 2 ? s.jwks : s.discovery));
  const discovery = await pool(urls, async (u) => {
    const res = await fetch(u);
    if (res.status !== 200) throw new Error(`${s.name}: ${u} → ${res.status}`);
    await res.arrayBuffer();
  });
  return { code, refresh, discovery };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => x.toFixed(0).padStart(9);
const KINDS = ["code", "refresh", "discovery"] as const;

const sluice = await start("sluice", [process.execPath, "bench/_token-sluice.ts"]);
const oidc = await start("oidc-provider", ["node", "bench/_token-oidc.mjs"]);
try {
  // Warm up both (JIT, connection pools), then alternate which server goes first per round.
  for (const s of [sluice, oidc]) await round(s);
  const results: Record<string, Figures[]> = { sluice: [], "oidc-provider": [] };
  for (let r = 0; r < ROUNDS; r++) for (const s of r % 2 ? [oidc, sluice] : [sluice, oidc]) results[s.name]!.push(await round(s));
  const med = (name: string, kind: (typeof KINDS)[number], what: keyof Measured) => median(results[name]!.map((f) => f[kind][what]));
  console.log(`token endpoint: ${N} requests per figure, concurrency ${CONCURRENCY}, medians of ${ROUNDS} rounds`);
  console.log(`${"".padEnd(15)}${"code/s".padStart(9)} ${"refresh/s".padStart(9)} ${"disc+jwks/s".padStart(11)}   server CPU µs/req: ${"code".padStart(6)} ${"refresh".padStart(7)} ${"disc".padStart(5)}`);
  for (const name of Object.keys(results)) {
    console.log(
      `${name.padEnd(15)}${fmt(med(name, "code", "perSecond"))} ${fmt(med(name, "refresh", "perSecond"))} ${fmt(med(name, "discovery", "perSecond")).padStart(11)}   ${"".padStart(18)} ${med(name, "code", "cpuMicros").toFixed(0).padStart(6)} ${med(name, "refresh", "cpuMicros").toFixed(0).padStart(7)} ${med(name, "discovery", "cpuMicros").toFixed(0).padStart(5)}`,
    );
  }
  const rate = (k: (typeof KINDS)[number]) => (med("sluice", k, "perSecond") / med("oidc-provider", k, "perSecond")).toFixed(2);
  const cpu = (k: (typeof KINDS)[number]) => (med("oidc-provider", k, "cpuMicros") / med("sluice", k, "cpuMicros")).toFixed(2);
  console.log(`sluice vs oidc-provider, requests/s: code ${rate("code")}×, refresh ${rate("refresh")}×, discovery+jwks ${rate("discovery")}×`);
  console.log(`sluice vs oidc-provider, CPU per request (less is better, shown as oidc/sluice): code ${cpu("code")}×, refresh ${cpu("refresh")}×, discovery+jwks ${cpu("discovery")}×`);
  console.log(`target: ≥ ${TARGET_RATIO}× on code and refresh`);
} finally {
  sluice.proc.kill("SIGTERM");
  oidc.proc.kill("SIGTERM");
  await Promise.all([sluice.proc.exited, oidc.proc.exited]);
}
