/**
 * Userspace refinement must never undo a newer kernel classification. The race: an EXEC event
 * for `setpriv` (or `env`, `sudo`…) is being attested while the same process execs the agent,
 * which the kernel classifies at exec; the stale refinement ("setpriv matches nothing") then
 * deleted the agent's entry and the agent ran unmanaged (seen once in CI: a child of the agent
 * reached an unlisted address). Real BPF map, real Attestor, real process; the interleaving is
 * forced by writing the kernel's newer entry while the attestation runs — a race we cannot hit
 * on purpose otherwise, and the test says so.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Attestor } from "../../src/identity/index.ts";
import { BpfMap, CODECS, MapType, PROC_FLAGS, type SluiceProc } from "../../src/kernel/index.ts";
import { createRefiner } from "../../src/kernel/enforcer/refine.ts";
import { storedWorkloadIds } from "../../src/kernel/workload-ids.ts";
import { createLogger } from "../../src/log/index.ts";
import { buildPolicy } from "../../src/policy/index.ts";
import { openStore } from "../../src/store/index.ts";
import { kernelSkipReason } from "./support/agent-cgroup.ts";

const skip = kernelSkipReason();
if (skip) console.warn(`refine race test skipped: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), "sluice-refine-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const agentSleep = join(dir, "agent-sleep");
const POLICY = `apiVersion: sluice/v1alpha1
kind: WorkloadIdentity
metadata: {name: agent}
spec:
  workloadID: agent
  selectors:
    - process:binary:path: ${agentSleep}
`;

describe.skipIf(skip !== "")("refinement vs the kernel's newer classification", () => {
  test("a stale EXEC refinement leaves the entry the kernel wrote meanwhile; a fresh one applies", async () => {
    const logger = createLogger({ level: "error" });
    const store = await openStore({ dataDir: join(dir, "data"), logger });
    const { snapshot } = buildPolicy([{ path: join(dir, "agent.yaml"), text: POLICY }], { trustDomain: "sluice.test" });
    const procs = BpfMap.create<number, SluiceProc>({ type: MapType.HASH, name: "procs_test", maxEntries: 64 }, CODECS.procs);
    copyFileSync(realpathSync(Bun.which("sleep")!), agentSleep);
    chmodSync(agentSleep, 0o755);
    const sleeper = Bun.spawn(["sleep", "30"]);
    const agent = Bun.spawn([agentSleep, "30"]);
    try {
      const attestor = new Attestor({ sweepIntervalMs: 0 });
      const ids = storedWorkloadIds(store);
      const agentId = ids.idFor("spiffe://sluice.test/agent");
      const kernelEntry: SluiceProc = { workload: agentId, flags: PROC_FLAGS.EXE, startTimeNs: 123n };
      // The forced interleaving: while userspace attests (the process is still "setpriv", matching
      // nothing), the kernel classifies the process's next exec.
      let interleave = true;
      const racing = {
        identify: async (pid: number, s: Parameters<Attestor["identify"]>[1]) => {
          const a = await attestor.identify(pid, s);
          if (interleave) procs.update(pid, kernelEntry);
          return a;
        },
        identifyCached: (pid: number, s: Parameters<Attestor["identify"]>[1]) => attestor.identifyCached(pid, s),
      } as unknown as Attestor;
      const refiner = createRefiner({ procs, attestor: racing, ids, snapshot: () => snapshot!, logger });

      await refiner.onExec(sleeper.pid);
      expect(procs.lookup(sleeper.pid)).toEqual(kernelEntry); // not deleted by the stale "matches nothing"

      // Without a concurrent change the refinement applies: the agent's own match is written.
      interleave = false;
      await refiner.onExec(agent.pid);
      expect(procs.lookup(agent.pid)).toMatchObject({ workload: agentId, flags: PROC_FLAGS.REFINED });
      attestor.close?.();
    } finally {
      sleeper.kill();
      agent.kill();
      procs.close();
      await store.close();
    }
  });
});
