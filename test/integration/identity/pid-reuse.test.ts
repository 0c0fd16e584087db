/**
 * PID reuse (DESIGN §6): facts recorded for (pid, start time) are never attributed to another
 * process that later gets the same pid.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Attestor, IdentityError, PidReusedError, assertSameProcess, readProcessFacts } from "../../../src/identity/index.ts";
import { pidfdInodesUnique } from "../../../src/identity/sys.ts";
import { isRoot, Sandbox, SLEEP } from "./helpers.ts";

const box = new Sandbox();
afterAll(() => box.cleanup());

async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
    return "no error";
  } catch (err) {
    return err instanceof IdentityError ? err.code : String(err);
  }
}

describe("a recorded process that exited", () => {
  test("re-check against the recorded (pid, start time) fails with ERR_PROCESS_GONE", async () => {
    const exe = box.copy(SLEEP, "sleep-1");
    const proc = await box.spawn([exe, "30"]);
    const f = await readProcessFacts(proc.pid);
    expect(() => assertSameProcess(f)).not.toThrow();
    proc.kill("SIGKILL");
    await proc.exited;
    expect(await codeOf(() => assertSameProcess(f))).toBe("ERR_PROCESS_GONE");
    expect(await codeOf(() => readProcessFacts(proc.pid, { expect: f }))).toBe("ERR_PROCESS_GONE");
    const attestor = new Attestor({ sweepIntervalMs: 0 });
    expect(await codeOf(() => attestor.facts(proc.pid))).toBe("ERR_PROCESS_GONE");
    attestor.close();
  });
});

describe("a stale start time against a live process (injected: simulates a recycled pid)", () => {
  test("ERR_PID_REUSED from readProcessFacts, assertSameProcess and a cached Attestor entry", async () => {
    const exe = box.copy(SLEEP, "sleep-2");
    const proc = await box.spawn([exe, "30"]);
    const f = await readProcessFacts(proc.pid);
    // The start time a caller recorded for a previous holder of this pid (one tick earlier).
    const stale = { startTime: f.startTime - 1 };
    const err = await readProcessFacts(proc.pid, { expect: stale }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PidReusedError);
    expect(err).toMatchObject({ code: "ERR_PID_REUSED", pid: proc.pid, expectedStartTime: f.startTime - 1, actualStartTime: f.startTime });
    expect(await codeOf(() => assertSameProcess({ pid: proc.pid, startTime: f.startTime - 1 }))).toBe("ERR_PID_REUSED");
    const ino = f.pidfdInode;
    if (pidfdInodesUnique() && ino !== undefined)
      expect(await codeOf(() => assertSameProcess({ pid: proc.pid, startTime: f.startTime, pidfdInode: ino + 1 }))).toBe("ERR_PID_REUSED");

    const attestor = new Attestor({ sweepIntervalMs: 0 });
    await attestor.facts(proc.pid); // cached now
    expect(await codeOf(() => attestor.facts(proc.pid, { expect: stale }))).toBe("ERR_PID_REUSED");
    expect(await codeOf(() => attestor.identify(proc.pid, { workloads: () => [] }, { expect: stale }))).toBe("ERR_PID_REUSED");
    attestor.close();
  });
});

describe("real pid reuse, forced with ns_last_pid in a new pid namespace", () => {
  test.skipIf(!isRoot)("the recycled pid is detected and attested as the new process", async () => {
    const exeA = box.copy(SLEEP, "sleep-A");
    const exeB = box.copy(SLEEP, "sleep-B", { extraByte: true });
    const fixture = join(import.meta.dir, "fixtures", "pid-reuse.ts");
    // sh stays pid 1 of the namespace (bun is its child), so the namespace has an init that reaps.
    const proc = Bun.spawn(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", `"$0" "$@"; exit $?`, process.execPath, fixture, exeA, exeB], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, errText, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(errText).toBe("");
    expect(code).toBe(0);
    const rounds = JSON.parse(out.trim().split("\n").at(-1) as string) as Record<string, unknown>[];
    expect(rounds.length).toBe(5);
    for (const r of rounds) {
      expect(r.reused).toBe(true);
      expect(r.afterExit).toBe("ERR_PROCESS_GONE");
      // A and B often start within one clock tick (equal start times): on kernels with pidfs the
      // pidfd inode still tells them apart; without it such a pair is indistinguishable by design.
      const distinguishable = r.startA !== r.startB || r.pidfdInodeA !== null;
      if (distinguishable) {
        expect(r.assertSame).toBe("ERR_PID_REUSED");
        expect(r.readExpectingA).toBe("ERR_PID_REUSED");
        expect(r.attestorExpectingA).toBe("ERR_PID_REUSED");
      }
      expect(r.nowExe).toBe(exeB);
    }
  }, 30_000);
});
