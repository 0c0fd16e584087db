#!/usr/bin/env bun
/**
 * Policy engine at scale: 10,000 Services and 1,000 WorkloadIdentities (3 label rules, 3 CIDR rules
 * and a host rule each). Measures parse+validate, compile, decideEgress lookups/s against a plain
 * Map.get over the same keys (same run), and reload-to-applied latency through a real PolicyEngine.
 * Run: bun bench/policy.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../src/log/index.ts";
import { PolicyEngine, buildPolicy, checkPolicy, compilePolicy, type Destination, type PolicySnapshot, type PolicySourceFile } from "../src/policy/index.ts";

const TD = "bench.local";
const SERVICES = 10_000;
const WORKLOADS = 1_000;
const APPS = 2_000;
const TARGET = { compileMs: 200, lookupsPerSec: 1_000_000, reloadMs: 500 };

function generate(): PolicySourceFile[] {
  const files: PolicySourceFile[] = [];
  const head = (kind: string, name: string) => `---\napiVersion: sluice/v1alpha1\nkind: ${kind}\nmetadata: {name: ${name}}\nspec:\n`;
  for (let f = 0; f < 10; f++) {
    let t = "";
    for (let i = f * (SERVICES / 10); i < (f + 1) * (SERVICES / 10); i++) {
      t += head("Service", `svc-${i}`);
      t += `  addresses: [{address: svc-${i}.example.com, port: 443}, {address: 10.200.${i >> 8}.${i & 255}, port: 8443}]\n`;
      t += `  labels: {app: app-${i % APPS}, team: team-${i % 50}}\n`;
    }
    files.push({ path: `/bench/services-${f}.yaml`, text: t });
  }
  for (let f = 0; f < 2; f++) {
    let t = "";
    for (let i = f * (WORKLOADS / 2); i < (f + 1) * (WORKLOADS / 2); i++) {
      t += head("WorkloadIdentity", `w-${i}`);
      t += `  workloadID: agents/w${i}\n  selectors: [{process:uid: ${10_000 + i}, process:binary:path: /opt/agents/w${i}}]\n  egress:\n`;
      for (let k = 0; k < 3; k++) t += `    - services: {app: app-${(i * 7 + k) % APPS}}\n`;
      for (let k = 0; k < 3; k++) t += `    - cidr: 10.${i % 200}.${k}.0/24\n      ports: [443, "8000-8100"]\n`;
      t += `    - host: api-${i}.example.org\n      ports: [443]\n`;
    }
    files.push({ path: `/bench/workloads-${f}.yaml`, text: t });
  }
  files.push({ path: "/bench/host.yaml", text: `${head("HostPolicy", "host")}  unmanaged: audit\n  alwaysAllow: [{cidr: 127.0.0.53/32, ports: [53], protocol: udp}]\n` });
  return files;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeRuns(n: number, f: () => void): number {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

/** Mixed destinations: Service names and addresses, CIDR and host rule hits, and misses. */
function destinations(n: number): Array<{ workload: string | undefined; dest: Destination }> {
  let seed = 42;
  const rnd = (m: number) => ((seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) % m);
  const out: Array<{ workload: string | undefined; dest: Destination }> = [];
  for (let j = 0; j < n; j++) {
    const i = rnd(WORKLOADS);
    const workload = rnd(50) === 0 ? undefined : `spiffe://${TD}/agents/w${i}`;
    const app = (i * 7 + rnd(3)) % APPS;
    const svc = app + APPS * rnd(SERVICES / APPS);
    const kind = rnd(10);
    let dest: Destination;
    if (kind < 3) dest = { host: `svc-${svc}.example.com`, port: 443 };
    else if (kind < 4) dest = { host: `10.200.${svc >> 8}.${svc & 255}`, port: 8443 };
    else if (kind < 6) dest = { host: `10.${i % 200}.${rnd(3)}.${rnd(256)}`, port: rnd(2) ? 443 : 8000 + rnd(101) };
    else if (kind < 7) dest = { host: `api-${i}.example.org`, port: 443 };
    else if (kind < 8) dest = { host: `svc-${rnd(SERVICES)}.example.com`, port: 80 };
    else if (kind < 9) dest = { host: `10.${(i + 1) % 200}.9.${rnd(256)}`, port: 443 };
    else dest = { host: `unknown-${rnd(1000)}.example.net`, port: 443, protocol: "udp" };
    out.push({ workload, dest });
  }
  return out;
}

function lookups(snapshot: PolicySnapshot) {
  const work = destinations(200_000);
  const baseline = new Map<string, number>();
  for (const [k, w] of work.entries()) if (k % 2 === 0) baseline.set(w.dest.host, k);
  const verdicts = { allow: 0, deny: 0, audit: 0 };
  for (const w of work) verdicts[snapshot.decideEgress(w.workload, w.dest).verdict]++;
  const passes = (f: () => number) => {
    const rates: number[] = [];
    let sink = 0;
    for (let p = 0; p < 7; p++) {
      const t0 = performance.now();
      sink += f();
      rates.push(work.length / ((performance.now() - t0) / 1000));
    }
    if (sink === -1) console.log(sink);
    return median(rates);
  };
  const decide = passes(() => {
    let n = 0;
    for (let k = 0; k < work.length; k++) {
      const w = work[k]!;
      if (snapshot.decideEgress(w.workload, w.dest).verdict === "allow") n++;
    }
    return n;
  });
  const mapGet = passes(() => {
    let n = 0;
    for (let k = 0; k < work.length; k++) if (baseline.get(work[k]!.dest.host) !== undefined) n++;
    return n;
  });
  return { decide, mapGet, verdicts, n: work.length };
}

async function reloadLatency(files: PolicySourceFile[], runs: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-policy-"));
  try {
    for (const f of files) writeFileSync(join(dir, f.path.split("/").pop()!), f.text);
    const engine = new PolicyEngine({ dir, trustDomain: TD, logger: silentLogger });
    const started = await engine.start();
    if (!started.ok) throw new Error("bench policy did not load");
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const applied = new Promise<number>((resolve) => {
        const off = engine.subscribe(() => {
          off();
          resolve(performance.now());
        });
      });
      const t0 = performance.now();
      writeFileSync(join(dir, "zz-edit.yaml"), `apiVersion: sluice/v1alpha1\nkind: Service\nmetadata: {name: edited}\nspec:\n  addresses: [{address: edited.example.com, port: ${1000 + r}}]\n`);
      times.push((await applied) - t0);
    }
    engine.stop();
    return median(times);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ok = (pass: boolean) => (pass ? "ok" : "MISSED");
const files = generate();
const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
console.log(`policy: ${SERVICES} Services, ${WORKLOADS} WorkloadIdentities (7 rules each), ${files.length} files, ${(bytes / 1e6).toFixed(2)} MB of YAML`);

const checked = checkPolicy(files, { trustDomain: TD });
if (!checked.docs) throw new Error(`bench policy invalid: ${checked.diagnostics[0]?.message}`);
const parseMs = timeRuns(3, () => checkPolicy(files, { trustDomain: TD }));
const compileMs = timeRuns(9, () => compilePolicy(checked.docs!, { trustDomain: TD, hash: "bench" }));
const snapshot = buildPolicy(files, { trustDomain: TD }).snapshot!;
console.log(`parse + validate (yaml + schema + cross-checks): median ${parseMs.toFixed(0)} ms (${(bytes / 1e6 / (parseMs / 1000)).toFixed(1)} MB/s)`);
console.log(`compile (documents → snapshot):                  median ${compileMs.toFixed(0)} ms   target < ${TARGET.compileMs} ms  ${ok(compileMs < TARGET.compileMs)}`);

const l = lookups(snapshot);
console.log(`decideEgress: median ${(l.decide / 1e6).toFixed(2)} M lookups/s over ${l.n} mixed destinations (allow ${l.verdicts.allow}, deny ${l.verdicts.deny}, audit ${l.verdicts.audit})   target > ${TARGET.lookupsPerSec / 1e6} M/s  ${ok(l.decide > TARGET.lookupsPerSec)}`);
console.log(`baseline Map.get over the same hosts: ${(l.mapGet / 1e6).toFixed(2)} M/s; decideEgress costs ${(l.mapGet / l.decide).toFixed(1)}× a Map.get`);

const reloadSmall = await reloadLatency(files.slice(-1), 20);
const reloadFull = await reloadLatency(files, 20);
console.log(`reload-to-applied (write → subscriber), median of 20, debounce 100 ms:`);
console.log(`  1-file policy:                ${reloadSmall.toFixed(0)} ms (floor: debounce + watch)`);
console.log(`  full policy (${(bytes / 1e6).toFixed(1)} MB, 11k docs): ${reloadFull.toFixed(0)} ms   target < ${TARGET.reloadMs} ms  ${ok(reloadFull < TARGET.reloadMs)}`);
