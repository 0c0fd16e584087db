/**
 * Differential test for exec-time classification: for random policies whose selector entries the
 * kernel decides alone (binary path, sha256 with a path, uid, gid, in any combination) and random
 * execs (executable, effective uid, effective gid), the kernel's exe_class lookup over the compiled
 * entries (simulateExecClassification: the seven key shapes of proc_track.bpf.c, lowest rank
 * wins) names the same workload as identity matching (matchWorkload) — several workloads matching
 * included, so the kernel's winner rule is identity's. Then the same with entries the kernel
 * cannot decide mixed in: the kernel must never classify a process identity matching leaves
 * unmanaged (its answer is a subset: userspace refines the rest on the EXEC event).
 *
 * Known difference, not generated here: the kernel keys executables by inode, identity by the path
 * the process was exec'd through, so a hard link to a selected binary is classified by the kernel
 * (then corrected by userspace on the EXEC event).
 */
import { expect, test } from "bun:test";
import { matchWorkload } from "../../../src/identity/index.ts";
import { compileKernelPolicy, InMemoryWorkloadIds, simulateExecClassification, type StatExeFn } from "../../../src/kernel/compile/index.ts";
import { toKernelDev } from "../../../src/kernel/layout.ts";
import { factsOf } from "../identity/helpers.ts";
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

const sha = (c: string) => c.repeat(64);
/** The files on "disk": inode, st_dev, content hash. */
const FILES: Record<string, { ino: number; dev: number; sha256: string }> = {
  "/opt/claude": { ino: 101, dev: 0xfd00, sha256: sha("a") },
  "/opt/codex": { ino: 102, dev: 0xfd00, sha256: sha("b") },
  "/usr/bin/python3": { ino: 103, dev: 0xfd01, sha256: sha("c") },
};
const PATHS = [...Object.keys(FILES), "/opt/missing"];
const HASHES = [sha("a"), sha("b"), sha("c"), sha("d")];
const UIDS = [0, 1000, 1001, 65534];
const GIDS = [0, 100, 1000];
const statExe: StatExeFn = (p) => FILES[p];

function randomPolicy(r: () => number, mixed: boolean): string {
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const some = <T,>(xs: readonly T[]) => [...new Set(Array.from({ length: 1 + Math.floor(r() * 2) }, () => pick(xs)))];
  const entry = (): string => {
    const keys: string[] = [];
    if (r() < 0.6) {
      keys.push(`process:binary:path: [${some(PATHS).join(", ")}]`);
      if (r() < 0.3) keys.push(`process:binary:sha256: [${some(HASHES).join(", ")}]`);
    }
    if (r() < 0.5) keys.push(`process:uid: [${some(UIDS).join(", ")}]`);
    if (r() < 0.4) keys.push(`process:gid: [${some(GIDS).join(", ")}]`);
    if (mixed && r() < 0.3) keys.push(pick(["process:name: [python3]", "cgroup:path: /agents", "process:user: [alice]"]));
    if (keys.length === 0) keys.push(`process:uid: [${pick(UIDS)}]`);
    return `    - {${keys.join(", ")}}\n`;
  };
  const docs: string[] = [];
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const entries = Array.from({ length: 1 + Math.floor(r() * 3) }, entry).join("");
    docs.push(`apiVersion: sluice/v1alpha1\nkind: WorkloadIdentity\nmetadata: {name: w${i}}\nspec:\n  workloadID: w${i}\n  selectors:\n${entries}  egress: []\n`);
  }
  return docs.join("---\n");
}

function run(seed: number, mixed: boolean) {
  const r = rng(seed);
  let policies = 0;
  let execs = 0;
  let classified = 0;
  let contested = 0;
  const mismatches: string[] = [];
  for (let iter = 0; iter < 300 && mismatches.length === 0; iter++) {
    const text = randomPolicy(r, mixed);
    const built = build({ "p.yaml": text });
    if (!built.snapshot) throw new Error(`generator produced an invalid policy:\n${text}\n${built.diagnostics.map((d) => d.message).join("\n")}`);
    const s = built.snapshot;
    const k = compileKernelPolicy(s, { ids: new InMemoryWorkloadIds(), resolve: () => undefined, statExe });
    const idOf = new Map([...k.workloads].map(([id, w]) => [w.spiffeId, id]));
    policies++;
    for (const path of [...Object.keys(FILES), "/usr/bin/other"]) {
      const file = FILES[path] ?? { ino: 999, dev: 0xfd00, sha256: sha("e") };
      for (const uid of [...UIDS, 4242])
        for (const gid of [...GIDS, 4242]) {
          const facts = factsOf({ uid, gid, exePath: path, exeInode: file.ino, exeDevice: file.dev, exeSha256: file.sha256, exeHash: { status: "ok", sha256: file.sha256 }, comm: "python3", cgroupPath: "/agents", user: "alice" });
          const m = matchWorkload(facts, s);
          const want = m.spiffeId === undefined ? 0 : idOf.get(m.spiffeId)!;
          const got = simulateExecClassification(k.exe, { ino: BigInt(file.ino), dev: toKernelDev(file.dev), euid: uid, egid: gid })?.workload ?? 0;
          execs++;
          if (want !== 0) classified++;
          if (m.candidates.length > 1) contested++;
          const ok = mixed ? got === 0 || m.candidates.some((c) => idOf.get(c.spiffeId) === got) : got === want;
          if (!ok) mismatches.push(`policy #${iter}: ${path} uid ${uid} gid ${gid}: kernel ${got}, identity ${want} (${m.reason})\n${text}`);
        }
    }
  }
  return { policies, execs, classified, contested, mismatches };
}

test("kernel-decidable selectors: the exec-time workload == identity matching, winner rule included", () => {
  const res = run(0xe7ec, false);
  expect(res.mismatches.slice(0, 1)).toEqual([]);
  expect(res.policies).toBe(300);
  // The generator exercises matches and contested matches (several workloads), not just misses.
  expect(res.classified).toBeGreaterThan(res.execs / 10);
  expect(res.contested).toBeGreaterThan(res.execs / 50);
});

test("with entries only userspace can decide mixed in, the kernel never classifies a process identity would not match", () => {
  const res = run(0x5eed, true);
  expect(res.mismatches.slice(0, 1)).toEqual([]);
  expect(res.classified).toBeGreaterThan(res.execs / 10);
});
