/**
 * Differential test: for random policies and destinations, the kernel's decision procedure run over
 * the compiled map contents (simulateKernelDecision: LPM longest match + ranges, the same steps as
 * egress.bpf.c) agrees with PolicySnapshot.decideEgress — what `sluice policy explain` says.
 *
 * The kernel sees addresses, the policy also names. So the reference verdict for an address is
 * "allow" when decideEgress allows the address itself or any name that resolves to it (host
 * rules and hostname Services are compiled from the same resolution table); otherwise the
 * fallback decideEgress gives for the address (deny, or audit).
 */
import { expect, test } from "bun:test";
import { compileKernelPolicy, InMemoryWorkloadIds, KernelCompileError, simulateKernelDecision, type Resolved } from "../../../src/kernel/compile/index.ts";
import { parseIP, type PolicySnapshot } from "../../../src/policy/index.ts";
import { build } from "../policy/helpers.ts";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RESOLVE: Record<string, Resolved> = {
  "h0.example": { v4: ["10.1.2.3"], v6: [] },
  "h1.example": { v4: ["10.1.2.3"], v6: ["2001:db8:1::5"] },
  "h2.example": { v4: [], v6: [] },
  "h3.example": { v4: ["192.168.1.1"], v6: [] },
  "h4.example": { v4: [], v6: ["2001:db8:2::1", "::ffff:10.2.0.1"] },
};
const NAMES = Object.keys(RESOLVE);
const CIDRS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "10.2.0.0/16", "192.168.0.0/16", "192.168.1.0/24", "0.0.0.0/0", "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::5/128", "::/0", '"::ffff:10.1.0.0/112"'];
const SERVICE_ADDRS = ["10.1.2.3", "10.2.0.1", '"2001:db8:1::5"', "192.168.1.1", ...NAMES];
const PORTS = ["22", "53", "80", "443", "5432", '"8000-8100"'];
const DESTS = ["10.1.2.3", "10.1.2.4", "10.1.3.1", "10.2.0.1", "10.9.9.9", "192.168.1.1", "192.168.2.2", "8.8.8.8", "2001:db8:1::5", "2001:db8:1::6", "2001:db8:2::1", "2001:db9::1", "::ffff:10.1.2.3", "::ffff:8.8.8.8"];
const TLS_MODES = ["intercept", "passthrough", "upgrade"];
const PROXY = { v4: "127.0.0.1", v6: "::1", port: 15001 };
const DEST_PORTS = [22, 53, 80, 443, 5432, 8050, 8443, 9999, 1];

function randomPolicy(r: () => number): string {
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const some = <T,>(xs: readonly T[], max: number) => Array.from({ length: Math.floor(r() * (max + 1)) }, () => pick(xs));
  const rule = (): string => {
    const kind = r();
    const proto = pick(["", "      protocol: tcp\n", "      protocol: udp\n", "      protocol: any\n"]);
    const ports = some(PORTS, 2);
    const portLine = ports.length > 0 ? `      ports: [${[...new Set(ports)].join(", ")}]\n` : "";
    if (kind < 0.5) return `    - cidr: ${pick(CIDRS)}\n${portLine}${proto}`;
    if (kind < 0.75) return `    - host: ${pick(NAMES)}\n${portLine}${proto}`;
    return `    - services: {app: s${Math.floor(r() * 3)}}\n${proto}`;
  };
  const docs: string[] = [];
  const always = some([0], 2).map(rule).join("");
  docs.push(`apiVersion: sluice/v1alpha1\nkind: HostPolicy\nmetadata: {name: host}\nspec:\n  unmanaged: ${pick(["allow", "audit", "deny"])}\n  alwaysAllow:${always ? `\n${always}` : " []\n"}`);
  const nServices = Math.floor(r() * 4);
  for (let i = 0; i < nServices; i++) {
    // Disjoint ports per Service: two Services may not claim one address:port.
    const ports = [[53, 443], [5432, 8443], [22, 80]][i]!;
    const addrs = Array.from({ length: 1 + Math.floor(r() * 2) }, () => `{address: ${pick(SERVICE_ADDRS)}, port: ${pick(ports)}}`);
    const tls = TLS_MODES[Math.floor(r() * TLS_MODES.length)]!;
    docs.push(`apiVersion: sluice/v1alpha1\nkind: Service\nmetadata: {name: svc${i}}\nspec:\n  addresses: [${addrs.join(", ")}]\n  labels: {app: s${i % 2}}\n  tls: ${tls}\n`);
  }
  const nWorkloads = 1 + Math.floor(r() * 3);
  for (let i = 0; i < nWorkloads; i++) {
    const egress = some([0], 5).map(rule).join("");
    docs.push(
      `apiVersion: sluice/v1alpha1\nkind: WorkloadIdentity\nmetadata: {name: w${i}}\nspec:\n  workloadID: w${i}\n  selectors: [{process:uid: ${1000 + i}}]\n  enforcement: ${pick(["enforce", "audit"])}\n  egress:${egress ? `\n${egress}` : " []\n"}`,
    );
  }
  return docs.join("---\n");
}

const namesCache = new Map<string, string[]>();

/** Names whose resolution contains `ip` (v4-mapped compared as IPv4). */
function namesOf(ip: string): string[] {
  let names = namesCache.get(ip);
  if (!names) namesCache.set(ip, (names = findNames(ip)));
  return names;
}

function findNames(ip: string): string[] {
  const key = (a: string) => {
    const p = parseIP(a)!;
    return `${p.family}:${p.value}`;
  };
  const k = key(ip);
  return NAMES.filter((n) => [...RESOLVE[n]!.v4, ...RESOLVE[n]!.v6].some((a) => key(a) === k));
}

function reference(s: PolicySnapshot, spiffeId: string | undefined, ip: string, port: number, protocol: "tcp" | "udp"): string {
  const own = s.decideEgress(spiffeId, { host: ip, port, protocol });
  if (own.verdict === "allow") return "allow";
  for (const n of namesOf(ip)) if (s.decideEgress(spiffeId, { host: n, port, protocol }).verdict === "allow") return "allow";
  return own.verdict;
}

test("kernel decision procedure over compiled entries == decideEgress, random policies", { timeout: 60_000 }, () => {
  const r = rng(0x5eed);
  let policies = 0;
  let overflow = 0;
  let decisions = 0;
  const verdicts = { allow: 0, deny: 0, audit: 0, redirect: 0 };
  const mismatches: string[] = [];
  for (let iter = 0; iter < 250 && mismatches.length === 0; iter++) {
    const text = randomPolicy(r);
    const built = build({ "p.yaml": text });
    if (!built.snapshot) throw new Error(`generator produced an invalid policy:\n${text}\n${built.diagnostics.map((d) => d.message).join("\n")}`);
    const s = built.snapshot;
    let k;
    try {
      k = compileKernelPolicy(s, { ids: new InMemoryWorkloadIds(), resolve: (h) => RESOLVE[h], statExe: () => undefined, proxy: PROXY });
    } catch (e) {
      if (!(e instanceof KernelCompileError)) throw e;
      overflow++;
      continue;
    }
    policies++;
    const subjects: Array<[number, string | undefined]> = [...k.workloads].map(([id, w]) => [id, w.spiffeId === "" ? undefined : w.spiffeId]);
    subjects.push([4242, undefined]); // an id the policy does not know: unmanaged
    for (const [id, spiffeId] of subjects) {
      for (const ip of DESTS) {
        for (const port of DEST_PORTS) {
          for (const proto of ["tcp", "udp"] as const) {
            const want = reference(s, spiffeId, ip, port, proto);
            const verdict = simulateKernelDecision(k, id, ip, port, proto).verdict;
            decisions++;
            verdicts[verdict]++;
            // The kernel redirects a managed workload's TCP connects to intercepted Service
            // addresses to the proxy: allowed, through the proxy (decideEgress says "allow").
            if (verdict === "redirect" && (spiffeId === undefined || proto !== "tcp")) mismatches.push(`policy #${iter}: redirect for ${spiffeId ?? "(unmanaged)"} ${proto}`);
            const got = verdict === "redirect" ? "allow" : verdict;
            if (want !== got) mismatches.push(`policy #${iter} workload ${spiffeId ?? "(unmanaged)"} → ${ip}:${port}/${proto}: kernel ${got}, decideEgress ${want}\n${text}`);
          }
        }
      }
    }
  }
  expect(mismatches.slice(0, 1)).toEqual([]);
  expect(policies).toBeGreaterThan(200);
  expect(overflow).toBeLessThan(25);
  // The generator exercises every verdict.
  expect(verdicts.allow).toBeGreaterThan(decisions / 20);
  expect(verdicts.deny).toBeGreaterThan(decisions / 20);
  expect(verdicts.audit).toBeGreaterThan(decisions / 20);
  expect(verdicts.redirect).toBeGreaterThan(100); // TCP to intercepted Service addresses only: rarer
});
