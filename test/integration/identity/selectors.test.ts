/**
 * Selector matching against real processes: copies of one executable told apart by path and by
 * content hash, another uid, names, argv, a real cgroup v2 child and a systemd-style unit cgroup.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { unlinkSync } from "node:fs";
import { Attestor, findCgroupV2Mount, matchWorkload, readProcessFacts, type ProcessFacts } from "../../../src/identity/index.ts";
import { snapshotOf, wi } from "../../unit/identity/helpers.ts";
import { isRoot, Sandbox, SH, sha256File, SLEEP } from "./helpers.ts";

const box = new Sandbox();
afterAll(() => box.cleanup());

const which = (f: ProcessFacts, files: Record<string, string>) => matchWorkload(f, snapshotOf(files)).workload?.name;

describe("binary path and sha256", () => {
  test("path selects one copy; sha256 selects the copy with that content only", async () => {
    const a = box.copy(SLEEP, "agent-a");
    const b = box.copy(SLEEP, "agent-b");
    const modified = box.copy(SLEEP, "agent-mod", { extraByte: true });
    const [fa, fb, fm] = await Promise.all(
      [a, b, modified].map(async (exe) => readProcessFacts((await box.spawn([exe, "30"])).pid)),
    ) as [ProcessFacts, ProcessFacts, ProcessFacts];

    const byPath = { "p.yaml": wi("a", `    - process:binary:path: ${a}`) };
    expect(which(fa, byPath)).toBe("a");
    expect(which(fb, byPath)).toBeUndefined();

    // a and b are identical copies (same hash); the byte-modified copy is not.
    const byHash = { "p.yaml": wi("pinned", `    - process:binary:sha256: "${sha256File(modified)}"`) };
    expect(which(fm, byHash)).toBe("pinned");
    expect(which(fa, byHash)).toBeUndefined();
    const original = { "p.yaml": wi("orig", `    - process:binary:sha256: "${sha256File(SLEEP)}"`) };
    expect([which(fa, original), which(fb, original), which(fm, original)]).toEqual(["orig", "orig", undefined]);

    // path AND sha256: the pinned build at its path.
    const both = { "p.yaml": wi("both", `    - process:binary:path: ${modified}\n      process:binary:sha256: "${sha256File(modified)}"`) };
    expect([which(fa, both), which(fm, both)]).toEqual([undefined, "both"]);
  });

  test("a deleted executable no longer matches its path, but its sha256 still does", async () => {
    const exe = box.copy(SLEEP, "agent-del");
    const hash = sha256File(exe);
    const proc = await box.spawn([exe, "30"]);
    unlinkSync(exe);
    const f = await readProcessFacts(proc.pid);
    expect(which(f, { "p.yaml": wi("p", `    - process:binary:path: ${exe}`) })).toBeUndefined();
    expect(which(f, { "p.yaml": wi("h", `    - process:binary:sha256: "${hash}"`) })).toBe("h");
  });

  test("a script is identified by its interpreter: a binary selector on the shell matches every shell script", async () => {
    const s1 = box.script("one.sh", "#!/bin/sh\nread x\n");
    const s2 = box.script("two.sh", "#!/bin/sh\nread x\n");
    const f1 = await readProcessFacts((await box.spawn([s1], { exe: SH, stdin: "pipe" })).pid);
    const f2 = await readProcessFacts((await box.spawn([s2], { exe: SH, stdin: "pipe" })).pid);
    expect(which(f1, { "p.yaml": wi("script", `    - process:binary:path: ${s1}`) })).toBeUndefined();
    const shell = { "p.yaml": wi("shell", `    - process:binary:path: ${SH}`) };
    expect([which(f1, shell), which(f2, shell)]).toEqual(["shell", "shell"]);
    // Only argv (weak) tells them apart.
    const byArgv = { "p.yaml": wi("one", `    - process:binary:path: ${SH}\n      process:cmdline: "/bin/sh ${s1}"`) };
    expect([which(f1, byArgv), which(f2, byArgv)]).toEqual(["one", undefined]);
  });
});

describe("uid, user, group (effective ids)", () => {
  test.skipIf(!isRoot)("a process started under uid 65534 with setpriv", async () => {
    const exe = box.copy(SLEEP, "agent-nobody");
    const proc = await box.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe, "30"], { exe });
    const f = await readProcessFacts(proc.pid);
    const mine = await readProcessFacts((await box.spawn([box.copy(SLEEP, "agent-root"), "30"])).pid);
    expect(f.user).toBeDefined();
    const byUid = { "p.yaml": wi("by-uid", `    - process:uid: 65534\n      process:binary:path: ${exe}`) };
    const byNames = { "p.yaml": wi("by-names", `    - process:user: ${f.user}\n      process:group: ${f.group}`) };
    expect([which(f, byUid), which(f, byNames)]).toEqual(["by-uid", "by-names"]);
    expect([which(mine, byUid), which(mine, byNames)]).toEqual([undefined, undefined]);
    const files = { "p.yaml": [byUid["p.yaml"], byNames["p.yaml"]].join("\n---\n") };
    // Two strong keys each: the smaller SPIFFE ID wins the tie.
    expect(matchWorkload(f, snapshotOf(files)).candidates.map((c) => c.workload.name)).toEqual(["by-names", "by-uid"]);
    expect(matchWorkload(mine, snapshotOf(files)).workload).toBeUndefined();
  });
});

describe("name and command line (weak)", () => {
  test("comm is the executable's base name (15 bytes at most); cmdline is a prefix of argv", async () => {
    const exe = box.copy(SLEEP, "claude");
    const f = await readProcessFacts((await box.spawn([exe, "30", "1"])).pid);
    expect(f.comm).toBe("claude");
    const files = { "p.yaml": wi("w", `    - process:name: claude\n      process:cmdline: "${exe} 30"`) };
    const m = matchWorkload(f, snapshotOf(files));
    expect(m.workload?.name).toBe("w");
    expect(m.weak).toBe(true);
    expect(which(f, { "p.yaml": wi("w", `    - process:cmdline: "${exe} 31"`) })).toBeUndefined();
  });
});

describe.skipIf(!isRoot || !findCgroupV2Mount())("cgroup v2 (a real child cgroup under the unified mount)", () => {
  test("cgroup:path matches the cgroup and below, not a sibling with the same prefix", async () => {
    const inside = box.cgroup("agents/claude");
    const sibling = box.cgroup("agents/claude-other");
    const p1 = await box.spawn([box.copy(SLEEP, "cg-1"), "30"]);
    const p2 = await box.spawn([box.copy(SLEEP, "cg-2"), "30"]);
    inside.add(p1.pid);
    sibling.add(p2.pid);
    const [f1, f2] = [await readProcessFacts(p1.pid), await readProcessFacts(p2.pid)];
    expect(f1.cgroupPath).toBe(inside.path);
    expect(f2.cgroupPath).toBe(sibling.path);
    const parent = inside.path.slice(0, -"/claude".length);
    expect(which(f1, { "p.yaml": wi("w", `    - cgroup:path: ${inside.path}`) })).toBe("w");
    expect(which(f1, { "p.yaml": wi("w", `    - cgroup:path: ${parent}`) })).toBe("w");
    expect(which(f2, { "p.yaml": wi("w", `    - cgroup:path: ${inside.path}`) })).toBeUndefined();
  });

  test("systemd:unit is derived from a unit-named cgroup", async () => {
    const unit = box.cgroup("system.slice/coder-agent.service");
    const proc = await box.spawn([box.copy(SLEEP, "coder"), "30"]);
    unit.add(proc.pid);
    const f = await readProcessFacts(proc.pid);
    expect(f.systemdUnit).toBe("coder-agent.service");
    expect(f.systemdSlices).toEqual(["system.slice"]);
    expect(which(f, { "p.yaml": wi("coder", "    - systemd:unit: coder-agent.service") })).toBe("coder");
    expect(which(f, { "p.yaml": wi("coder", "    - systemd:unit: system.slice") })).toBe("coder");
    expect(which(f, { "p.yaml": wi("coder", "    - systemd:unit: other.service") })).toBeUndefined();
  });
});

describe("ambiguity and unmanaged, end to end through the Attestor", () => {
  test("deterministic winner, audited once per (pid, start time); an unmatched process is unmanaged", async () => {
    const exe = box.copy(SLEEP, "amb");
    const proc = await box.spawn([exe, "30"]);
    const uid = process.getuid?.() ?? 0;
    const snap = snapshotOf({
      "b.yaml": wi("by-uid", `    - process:uid: ${uid}`, "b"),
      "a.yaml": wi("by-gid", `    - process:gid: ${process.getgid?.() ?? 0}`, "a"),
      "c.yaml": wi("by-path", `    - process:binary:path: ${exe}\n      process:uid: ${uid}`, "c"),
    });
    const audit: { kind: string; subject?: string; pid?: number; details?: Record<string, unknown> }[] = [];
    const attestor = new Attestor({ audit: { append: (r) => audit.push(r) }, sweepIntervalMs: 0 });
    const first = await attestor.identify(proc.pid, snap);
    expect(first.match.spiffeId).toBe("spiffe://sluice.local/c"); // 2 strong keys beat 1
    expect(first.match.candidates.map((c) => c.spiffeId)).toEqual(["spiffe://sluice.local/c", "spiffe://sluice.local/a", "spiffe://sluice.local/b"]);
    await attestor.identify(proc.pid, snap);
    attestor.clear();
    await attestor.identify(proc.pid, snap); // read again: still the same (pid, start time)
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ kind: "identity.ambiguous", subject: "spiffe://sluice.local/c", pid: proc.pid });
    expect(audit[0]?.details?.candidates).toEqual(["spiffe://sluice.local/c", "spiffe://sluice.local/a", "spiffe://sluice.local/b"]);

    const other = await box.spawn([box.copy(SLEEP, "unmanaged"), "30"]);
    const u = await attestor.identify(other.pid, snapshotOf({ "p.yaml": wi("w", `    - process:binary:path: ${exe}`) }));
    expect(u.match.workload).toBeUndefined();
    expect(u.match.reason).toBe("no WorkloadIdentity selector matches: unmanaged");
    attestor.close();
  });
});
