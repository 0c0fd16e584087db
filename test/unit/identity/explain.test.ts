/** `sluice identify --pid N` output: facts, the workload, the selector that matched, and why not the others. */
import { describe, expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { explainFacts } from "../../../src/identity/index.ts";
import { factsOf, snapshotOf, wi } from "./helpers.ts";

const snap = snapshotOf({
  "10-claude.yaml": wi("claude", "    - process:uid: [1000]\n      process:binary:path: /usr/local/bin/claude"),
  "30-coder.yaml": wi("coder", "    - systemd:unit: coder-agent.service\n      process:user: coder\n    - process:name: coder", "agents/coder"),
});

describe("explainFacts", () => {
  test("names the workload, the selector (file:line:col) and why each other workload did not match", () => {
    const e = explainFacts(factsOf({ supplementaryGids: [27, 4000], supplementaryGroups: ["sudo", null] }), snap, { startedAt: "2025-01-01T00:00:10.000Z" });
    expect(e.identity).toEqual({
      spiffeId: "spiffe://sluice.local/claude",
      workload: "claude",
      selector: { index: 0, file: "10-claude.yaml", line: 7, col: 7, weak: false },
      ambiguous: false,
      weak: false,
      reason: 'selector #1 of WorkloadIdentity "claude" (10-claude.yaml:7) matches',
      candidates: [{ workload: "claude", spiffeId: "spiffe://sluice.local/claude" }],
    });
    const coder = e.workloads.find((w) => w.name === "coder");
    expect(coder?.matched).toBe(false);
    expect(coder?.entries[0]?.keys).toEqual([
      { key: "process:user", weak: false, expected: ["coder"], actual: "alice", ok: false },
      { key: "systemd:unit", weak: false, expected: ["coder-agent.service"], actual: "session-3.scope in user.slice/user-1000.slice", ok: false },
    ]);
    expect(coder?.entries[1]?.keys[0]).toMatchObject({ key: "process:name", weak: true, actual: "claude", ok: false });
    expect(e.text).toBe(
      [
        "pid 4242 (claude)",
        "  started   2025-01-01T00:00:10.000Z (1000 ticks after boot)",
        "  exe       /usr/local/bin/claude",
        `  sha256    ${"a".repeat(64)}`,
        "  uid       1000 (alice)",
        "  gid       1000 (alice)",
        "  groups    27 (sudo), 4000",
        "  cgroup    /user.slice/user-1000.slice/session-3.scope",
        "  unit      session-3.scope in user.slice/user-1000.slice",
        "  cmdline   claude --resume",
        "  ppid      1",
        "",
        "workload  claude → spiffe://sluice.local/claude",
        "  by selector #1 at 10-claude.yaml:7:7",
        "",
        "other workloads:",
        "  coder (spiffe://sluice.local/agents/coder)",
        "    selector #1 at 30-coder.yaml:7:7: does not match",
        "      FAIL process:user: expected coder, got alice",
        "      FAIL systemd:unit: expected coder-agent.service, got session-3.scope in user.slice/user-1000.slice",
        "    selector #2 at 30-coder.yaml:9:7: does not match",
        "      FAIL process:name: expected coder, got claude",
      ].join("\n"),
    );
  });

  test("unmanaged, with real vs effective ids and an unhashed binary", () => {
    const e = explainFacts(
      factsOf({ uid: 0, user: "root", realUid: 1000, exeSha256: undefined, exeHash: { status: "too-large", size: 300, limitBytes: 100 } }),
      snap,
    );
    expect(e.identity.spiffeId).toBeUndefined();
    expect(e.text).toContain("  uid       0 (root), real 1000");
    expect(e.text).toContain("  sha256    (none) (not hashed: 300 bytes is over the 100-byte limit)");
    expect(e.text).toContain("workload  none: unmanaged (no WorkloadIdentity selector matches)");
    expect(e.text).toContain("\nworkloads:\n  claude (spiffe://sluice.local/claude)");
    expect(e.text).toContain("      ok   process:binary:path: /usr/local/bin/claude");
    expect(e.text).toContain("      FAIL process:uid: expected 1000, got 0");
  });

  test("ambiguous and weak matches are called out", () => {
    const s = snapshotOf({ "a.yaml": wi("a", "    - process:name: claude"), "b.yaml": wi("b", "    - process:cmdline: claude") });
    const e = explainFacts(factsOf(), s);
    expect(e.identity).toMatchObject({ spiffeId: "spiffe://sluice.local/a", ambiguous: true, weak: true });
    expect(e.text).toContain("  by selector #1 at a.yaml:7:7 (WEAK: only keys the process controls)");
    expect(e.text).toContain("  warning: ambiguous: 2 WorkloadIdentities match");
    expect(e.text).toContain("  b (spiffe://sluice.local/b): also matches (lost the tie-break)");
  });

  test("hints: a deleted binary, a script, a symlinked path", () => {
    const s = snapshotOf({ "a.yaml": wi("a", "    - process:binary:path: [/usr/local/bin/claude, /opt/agent/run.sh, /bin/sh]") });
    const deleted = explainFacts(factsOf({ exeDeleted: true }), s).workloads[0]?.entries[0]?.keys[0];
    expect(deleted?.actual).toBe("/usr/local/bin/claude (deleted: matches no path)");
    expect(deleted?.hint).toContain("deleted or replaced");
    const script = explainFacts(factsOf({ exePath: "/usr/bin/dash", cmdline: ["/bin/sh", "/opt/agent/run.sh"] }), s).workloads[0]?.entries[0]?.keys[0];
    expect(script?.hint).toContain("/opt/agent/run.sh looks like a script run by /usr/bin/dash");
    // On Debian /bin/sh → dash (and /bin → usr/bin): the hint names the resolved path to write.
    const sh = realpathSync("/bin/sh");
    const link = explainFacts(factsOf({ exePath: sh, cmdline: ["sh"] }), s).workloads[0]?.entries[0]?.keys[0];
    if (sh !== "/bin/sh") expect(link?.hint).toBe(`/bin/sh is a link to ${sh}; selectors compare the resolved path: write ${sh}`);
  });
});
