/**
 * Selector semantics and the ambiguity rule (docs/selectors.md), on synthetic facts against real
 * compiled policy snapshots.
 */
import { describe, expect, test } from "bun:test";
import { matchWorkload } from "../../../src/identity/index.ts";
import { factsOf, SHA_A, snapshotOf, wi } from "./helpers.ts";

const one = (selectors: string) => snapshotOf({ "p.yaml": wi("w", selectors) });
const matches = (selectors: string, over: Parameters<typeof factsOf>[0] = {}) => matchWorkload(factsOf(over), one(selectors)).workload?.name === "w";

describe("each key", () => {
  test("process:uid and process:gid compare the effective ids", () => {
    expect(matches("    - process:uid: [1000]")).toBe(true);
    expect(matches("    - process:uid: [1000]", { uid: 0, realUid: 1000 })).toBe(false);
    expect(matches("    - process:uid: [0, 1000]", { uid: 0, realUid: 1000 })).toBe(true);
    expect(matches("    - process:gid: 1000")).toBe(true);
    expect(matches("    - process:gid: 1000", { gid: 27, realGid: 1000 })).toBe(false);
  });

  test("supplementary groups are not matched by process:gid/group", () => {
    expect(matches("    - process:gid: 27")).toBe(false);
    expect(matches("    - process:group: sudo")).toBe(false);
  });

  test("process:user and process:group compare names; an id without a name matches no name", () => {
    expect(matches("    - process:user: alice")).toBe(true);
    expect(matches("    - process:user: [bob, alice]")).toBe(true);
    expect(matches("    - process:group: alice")).toBe(true);
    expect(matches("    - process:user: alice", { user: undefined })).toBe(false);
  });

  test("process:binary:path is exact; a deleted executable matches no path", () => {
    expect(matches("    - process:binary:path: /usr/local/bin/claude")).toBe(true);
    expect(matches("    - process:binary:path: /usr/local/bin/clau")).toBe(false);
    expect(matches("    - process:binary:path: /usr/local/bin/claude", { exeDeleted: true })).toBe(false);
    expect(matches("    - process:binary:path: /usr/local/bin/claude", { exePath: undefined, kernelThread: true })).toBe(false);
  });

  test("process:binary:sha256 is exact (any case in the file); an unhashed executable matches no hash", () => {
    expect(matches(`    - process:binary:sha256: "${SHA_A}"`)).toBe(true);
    expect(matches(`    - process:binary:sha256: "${SHA_A.toUpperCase()}"`)).toBe(true);
    expect(matches(`    - process:binary:sha256: "${"b".repeat(64)}"`)).toBe(false);
    const unhashed = { exeSha256: undefined, exeHash: { status: "too-large", size: 10, limitBytes: 5 } } as const;
    expect(matches(`    - process:binary:sha256: "${SHA_A}"`, unhashed)).toBe(false);
  });

  test("process:name compares comm exactly", () => {
    expect(matches("    - process:name: claude\n      process:uid: 1000")).toBe(true);
    expect(matches("    - process:name: claud\n      process:uid: 1000")).toBe(false);
  });

  test("process:cmdline is a plain prefix of argv joined with spaces", () => {
    const sel = (v: string) => `    - process:uid: 1000\n      process:cmdline: "${v}"`;
    expect(matches(sel("claude --resume"))).toBe(true);
    expect(matches(sel("claude"))).toBe(true);
    expect(matches(sel("claude --re"))).toBe(true); // a prefix is a prefix…
    expect(matches(sel("claude --resume "))).toBe(false); // …end with a space to require whole arguments
    expect(matches(sel("laude"))).toBe(false);
    expect(matches(sel("claude --resume"), { cmdline: ["claude", "--resume", "--x"] })).toBe(true);
  });

  test("cgroup:path matches the cgroup and its descendants, at a path boundary", () => {
    const cg = (p: string, path: string) => matches(`    - cgroup:path: ${p}`, { cgroupPath: path });
    expect(cg("/agents/claude", "/agents/claude")).toBe(true);
    expect(cg("/agents/claude", "/agents/claude/worker-1")).toBe(true);
    expect(cg("/agents/claude", "/agents/claude-evil")).toBe(false);
    expect(cg("/agents/claude", "/agents")).toBe(false);
    expect(matches("    - cgroup:path: /agents", { cgroupPath: undefined })).toBe(false);
  });

  test("systemd:unit: the system manager's unit exactly; a .slice value matches a slice above it", () => {
    expect(matches("    - systemd:unit: session-3.scope")).toBe(true);
    expect(matches("    - systemd:unit: session-4.scope")).toBe(false);
    expect(matches("    - systemd:unit: user-1000.slice")).toBe(true);
    expect(matches("    - systemd:unit: system.slice")).toBe(false);
    // A user unit named like a system service does not match it.
    const userUnit = { systemdUnit: "user@1000.service", systemdUserUnit: "coder-agent.service" };
    expect(matches("    - systemd:unit: coder-agent.service", userUnit)).toBe(false);
  });
});

describe("AND inside an entry, OR across entries", () => {
  test("every key of an entry must match", () => {
    expect(matches("    - process:uid: 1000\n      process:binary:path: /usr/local/bin/claude")).toBe(true);
    expect(matches("    - process:uid: 1001\n      process:binary:path: /usr/local/bin/claude")).toBe(false);
  });

  test("any entry may match; the result names it", () => {
    const snap = one("    - process:uid: 1001\n    - process:binary:path: /usr/local/bin/claude\n      process:uid: 1000");
    const m = matchWorkload(factsOf(), snap);
    expect(m.workload?.name).toBe("w");
    expect(m.spiffeId).toBe("spiffe://sluice.local/w");
    expect(m.matchedSelector).toMatchObject({ index: 1, at: { file: "p.yaml", line: 8, col: 7 }, weak: false, strongKeys: 2, keys: 2 });
    expect(m.ambiguous).toBe(false);
    expect(m.reason).toBe('selector #2 of WorkloadIdentity "w" (p.yaml:8) matches');
  });
});

describe("weak and unmanaged", () => {
  test("a weak-only entry still matches, marked weak", () => {
    const m = matchWorkload(factsOf(), one("    - process:name: claude"));
    expect(m.workload?.name).toBe("w");
    expect(m.weak).toBe(true);
    expect(m.matchedSelector?.weak).toBe(true);
    expect(m.reason).toContain("weak: only process:name/process:cmdline");
  });

  test("a strong entry is preferred over a weak one of the same workload", () => {
    const m = matchWorkload(factsOf(), one("    - process:name: claude\n    - process:uid: 1000"));
    expect(m.matchedSelector?.index).toBe(1);
    expect(m.weak).toBe(false);
  });

  test("no match: unmanaged", () => {
    const m = matchWorkload(factsOf({ uid: 5 }), one("    - process:uid: 1000"));
    expect(m).toMatchObject({ ambiguous: false, weak: false, candidates: [], reason: "no WorkloadIdentity selector matches: unmanaged" });
    expect(m.workload).toBeUndefined();
    expect(m.spiffeId).toBeUndefined();
  });

  test("an empty snapshot manages nothing", () => {
    expect(matchWorkload(factsOf(), { workloads: () => [] }).workload).toBeUndefined();
  });
});

describe("ambiguity rule", () => {
  const files = {
    "a.yaml": wi("by-uid", "    - process:uid: 1000"),
    "b.yaml": wi("by-path-and-uid", "    - process:uid: 1000\n      process:binary:path: /usr/local/bin/claude"),
    "c.yaml": wi("by-uid-and-name", "    - process:uid: 1000\n      process:name: claude"),
  };

  test("1. more strong keys wins", () => {
    const m = matchWorkload(factsOf(), snapshotOf(files));
    expect(m.ambiguous).toBe(true);
    expect(m.workload?.name).toBe("by-path-and-uid");
    expect(m.candidates.map((c) => c.workload.name)).toEqual(["by-path-and-uid", "by-uid-and-name", "by-uid"]);
    expect(m.reason).toBe(
      'ambiguous: 3 WorkloadIdentities match ("by-path-and-uid", "by-uid-and-name", "by-uid"); selector #1 of WorkloadIdentity "by-path-and-uid" (b.yaml:7) wins: more strong selector keys (2 vs 1)',
    );
  });

  test("2. then more keys in all (a weak key narrows)", () => {
    const m = matchWorkload(factsOf(), snapshotOf({ "a.yaml": files["a.yaml"], "c.yaml": files["c.yaml"] }));
    expect(m.workload?.name).toBe("by-uid-and-name");
    expect(m.reason).toContain("as many strong keys and more keys in all (2 vs 1)");
  });

  test("3. then the smallest SPIFFE ID, whatever the file or document order", () => {
    const docs = [wi("zeta", "    - process:uid: 1000", "a/zeta"), wi("alpha", "    - process:gid: 1000", "b/alpha")];
    const forward = matchWorkload(factsOf(), snapshotOf({ "1.yaml": docs[0] as string, "2.yaml": docs[1] as string }));
    const backward = matchWorkload(factsOf(), snapshotOf({ "1.yaml": docs[1] as string, "2.yaml": docs[0] as string }));
    const single = matchWorkload(factsOf(), snapshotOf({ "1.yaml": `${docs[1]}\n---\n${docs[0]}` }));
    for (const m of [forward, backward, single]) {
      expect(m.spiffeId).toBe("spiffe://sluice.local/a/zeta");
      expect(m.ambiguous).toBe(true);
      expect(m.reason).toContain("selectors of equal strength: the smallest SPIFFE ID wins");
    }
  });

  test("a workload matching by a weak entry still makes the match ambiguous", () => {
    const m = matchWorkload(
      factsOf(),
      snapshotOf({ "a.yaml": wi("strong", "    - process:uid: 1000"), "b.yaml": wi("weak", "    - process:name: claude") }),
    );
    expect(m.workload?.name).toBe("strong");
    expect(m.ambiguous).toBe(true);
    expect(m.weak).toBe(false);
  });
});

describe("compiled once per snapshot", () => {
  test("the same snapshot gives the same answers repeatedly; a new snapshot is compiled anew", () => {
    const s1 = one("    - process:uid: 1000");
    const s2 = one("    - process:uid: 1001");
    for (let i = 0; i < 3; i++) {
      expect(matchWorkload(factsOf(), s1).workload?.name).toBe("w");
      expect(matchWorkload(factsOf(), s2).workload).toBeUndefined();
    }
  });
});
