/**
 * Seamless upgrade on restart (src/kernel/enforcer/upgrade.ts): pins left by an "older sluice"
 * (its connect4 allowed everything; its exit tracepoint did nothing — a fixture object swapped into
 * the pinned links) are upgraded in place to this sluice's programs: the same cgroup link (same
 * id, never detached) now runs the real connect4, the tracing link is replaced, and a second pass
 * finds nothing to do. Real cgroup, real processes; everything is removed after.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cgroupV2Root } from "../../src/kernel/cgroup.ts";
import { compileKernelPolicy, InMemoryWorkloadIds, statExe } from "../../src/kernel/compile/index.ts";
import { attachKernel, BPF_OBJECT_ASSET, CGROUP_PROGRAMS, TRACING_PROGRAMS } from "../../src/kernel/enforcer/attach.ts";
import { applyGeneration } from "../../src/kernel/enforcer/generation.ts";
import { upgradePinnedPrograms } from "../../src/kernel/enforcer/upgrade.ts";
import { bpfFdInfo } from "../../src/kernel/libbpf/fdinfo.ts";
import { BpfObject } from "../../src/kernel/libbpf/object.ts";
import { linkDetach, linkUpdate, objGet } from "../../src/kernel/libbpf/syscalls.ts";
import { detachAll } from "../../src/kernel/pin/pins.ts";
import { createLogger } from "../../src/log/index.ts";
import { buildPolicy } from "../../src/policy/index.ts";
import { agentPolicy, connectScript, kernelSkipReason, realPython, removeCgroup, runInCgroup } from "./support/agent-cgroup.ts";

const REPO = resolve(import.meta.dir, "../..");
const skip =
  kernelSkipReason() ||
  (!Bun.which("clang") ? "clang is not installed" : "") ||
  (existsSync(join(REPO, BPF_OBJECT_ASSET)) ? "" : "BPF object not built (bun run scripts/build-bpf.ts)");
if (skip) console.warn(`test/kernel/upgrade.test.ts skipped: ${skip}`);

const tag = `${process.pid % 10000}${Date.now() % 1000}`;
const pinDir = `/sys/fs/bpf/sluice-test-upgrade-${tag}`;
const logger = createLogger({ level: "error", write: () => {} });
let work = "";
let cgroup = "";
let agent = "";
const listeners: Array<{ stop(): void; port: number }> = [];

function linkInfo(path: string): { id: string | undefined; tag: string | undefined } {
  const fd = objGet(path);
  try {
    const f = bpfFdInfo(fd).fields;
    return { id: f.link_id, tag: f.prog_tag };
  } finally {
    closeSync(fd);
  }
}

beforeAll(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), "sluice-upgrade-"));
  agent = join(work, "agent-python");
  copyFileSync(realPython(), agent);
  chmodSync(agent, 0o755);
  cgroup = join(cgroupV2Root(), `sluice-test-upgrade-${tag}`);
  mkdirSync(cgroup);
  for (const _ of [0, 1]) listeners.push(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, open() {} } }) as unknown as { stop(): void; port: number });
  const kernel = attachKernel({ pinDir, cgroup, logger });
  const built = buildPolicy([{ path: "agent.yaml", text: agentPolicy(agent, listeners[0]!.port) }], { trustDomain: "sluice.test" });
  if (!built.snapshot) throw new Error(built.diagnostics.map((d) => d.message).join("\n"));
  applyGeneration(kernel, compileKernelPolicy(built.snapshot, { ids: new InMemoryWorkloadIds(), resolve: () => undefined, statExe }));
  kernel.close();
}, 30_000);

afterAll(async () => {
  if (skip) return;
  for (const l of listeners) l.stop();
  if (existsSync(pinDir)) detachAll(pinDir);
  await removeCgroup(cgroup);
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skip !== "")("upgrading pinned programs on restart", () => {
  test("an older connect4 and exit tracepoint in the pins are replaced in place; an unchanged object changes nothing", async () => {
    const denied = connectScript("127.0.0.1", listeners[1]!.port);
    expect(await runInCgroup(cgroup, agent, denied)).toBe("EPERM");
    const current = linkInfo(join(pinDir, "links/sluice_connect4"));

    // Make the pins look like an older sluice's.
    const objPath = join(work, "old.bpf.o");
    const cc = Bun.spawnSync(["clang", "-target", "bpf", "-O2", "-g", `-I${join(REPO, ".cache/bpf")}`, "-c", join(import.meta.dir, "fixtures/old-programs.bpf.c"), "-o", objPath], { stderr: "pipe" });
    expect(cc.stderr.toString()).toBe("");
    const old = BpfObject.openMem(new Uint8Array(readFileSync(objPath)), { name: "old" });
    try {
      old.load();
      const c4 = objGet(join(pinDir, "links/sluice_connect4"));
      linkUpdate(c4, old.program("old_connect4").fd);
      closeSync(c4);
      const exitPin = join(pinDir, "links/sluice_on_exit");
      const prev = objGet(exitPin);
      const oldExit = old.program("old_on_exit").attach();
      unlinkSync(exitPin);
      oldExit.pin(exitPin);
      oldExit.destroy();
      linkDetach(prev);
      closeSync(prev);
    } finally {
      old.close();
    }
    const older = linkInfo(join(pinDir, "links/sluice_connect4"));
    expect(older.id).toBe(current.id);
    expect(older.tag).not.toBe(current.tag);
    expect(await runInCgroup(cgroup, agent, denied)).toBe("ok"); // the "old" program allows everything

    const first = upgradePinnedPrograms({ pinDir, objectAsset: BPF_OBJECT_ASSET, cgroupPrograms: CGROUP_PROGRAMS, tracingPrograms: TRACING_PROGRAMS, logger });
    expect([...first.upgraded].sort()).toEqual(["links/sluice_connect4", "links/sluice_on_exit"]);
    const after = linkInfo(join(pinDir, "links/sluice_connect4"));
    expect(after).toEqual(current); // same link, this sluice's program again
    expect(await runInCgroup(cgroup, agent, denied)).toBe("EPERM");
    expect(await runInCgroup(cgroup, agent, connectScript("127.0.0.1", listeners[0]!.port))).toBe("ok");

    const second = upgradePinnedPrograms({ pinDir, objectAsset: BPF_OBJECT_ASSET, cgroupPrograms: CGROUP_PROGRAMS, tracingPrograms: TRACING_PROGRAMS, logger });
    expect(second.upgraded).toEqual([]);
  });
});
