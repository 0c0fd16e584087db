/** Helpers for identity unit tests: policy snapshots from YAML, synthetic process facts. */
import { buildPolicy, formatDiagnostic, hasErrors, type PolicySnapshot } from "../../../src/policy/index.ts";
import type { ProcessFacts } from "../../../src/identity/index.ts";

export const TD = "sluice.local";

/** A WorkloadIdentity document; `selectors` is the YAML of the list, indented by 4. */
export function wi(name: string, selectors: string, workloadID = name): string {
  return `apiVersion: sluice/v1alpha1\nkind: WorkloadIdentity\nmetadata: {name: ${name}}\nspec:\n  workloadID: ${workloadID}\n  selectors:\n${selectors}`;
}

/** Compile policy files (path → text) into a snapshot; throws with the diagnostics on error. */
export function snapshotOf(files: Record<string, string>): PolicySnapshot {
  const r = buildPolicy(
    Object.entries(files).map(([path, text]) => ({ path, text })),
    { trustDomain: TD },
  );
  if (!r.snapshot || hasErrors(r.diagnostics)) throw new Error(r.diagnostics.map(formatDiagnostic).join("\n"));
  return r.snapshot;
}

export const SHA_A = "a".repeat(64);

/** Facts of an ordinary process (uid 1000 alice, /usr/local/bin/claude), with overrides. */
export function factsOf(over: Partial<ProcessFacts> = {}): ProcessFacts {
  return {
    pid: 4242,
    startTime: 1000,
    ppid: 1,
    uid: 1000,
    realUid: 1000,
    gid: 1000,
    realGid: 1000,
    user: "alice",
    group: "alice",
    supplementaryGids: [27],
    supplementaryGroups: ["sudo"],
    comm: "claude",
    cmdline: ["claude", "--resume"],
    cmdlineTruncated: false,
    kernelThread: false,
    exePath: "/usr/local/bin/claude",
    exeDeleted: false,
    exeDevice: 2049,
    exeInode: 77,
    exeSize: 1234,
    exeHash: { status: "ok", sha256: SHA_A },
    exeSha256: SHA_A,
    cgroupPath: "/user.slice/user-1000.slice/session-3.scope",
    systemdUnit: "session-3.scope",
    systemdSlices: ["user.slice", "user-1000.slice"],
    readAt: 0,
    ...over,
  };
}
