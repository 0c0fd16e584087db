/** readProcessFacts against real processes: executables copied to temp dirs, other uids, scripts, deleted binaries, limits. */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { parseIdNames } from "../../../src/identity/accounts.ts";
import { IdentityError, readProcessFacts, readStartTime, type ProcessFacts } from "../../../src/identity/index.ts";
import { parseCgroup } from "../../../src/identity/procfs.ts";
import { closeFd, pidfdAlive, pidfdInodesUnique, pidfdOpen } from "../../../src/identity/sys.ts";
import { isRoot, openFdCount, Sandbox, SH, sha256File, SLEEP, waitFor } from "./helpers.ts";

const box = new Sandbox();
afterAll(() => box.cleanup());

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "no error";
  } catch (err) {
    if (err instanceof IdentityError) return err.code;
    return err instanceof TypeError ? "TypeError" : String(err);
  }
}

describe("facts of a real process", () => {
  test("exe path, sha256 through /proc/PID/exe, inode and device, comm, argv, ids, start time, cgroup", async () => {
    const exe = box.copy(SLEEP, "sleep-a");
    const proc = await box.spawn([exe, "30"]);
    const f = await readProcessFacts(proc.pid);
    const st = statSync(exe);
    expect(f).toMatchObject({
      pid: proc.pid,
      ppid: process.pid,
      exePath: exe,
      exeDeleted: false,
      exeInode: st.ino,
      exeDevice: st.dev,
      exeSize: st.size,
      exeSha256: sha256File(exe),
      exeHash: { status: "ok", sha256: sha256File(exe) },
      comm: "sleep-a",
      cmdline: [exe, "30"],
      cmdlineTruncated: false,
      kernelThread: false,
      uid: process.getuid?.(),
      gid: process.getgid?.(),
    });
    expect(f.startTime).toBe(readStartTime(proc.pid));
    expect(f.cgroupPath).toBe(parseCgroup(readFileSync(`/proc/${proc.pid}/cgroup`, "utf8")).v2 as string);
    if (pidfdInodesUnique()) expect(typeof f.pidfdInode).toBe("number");
    expect(Object.isFrozen(f)).toBe(true);
    expect(JSON.parse(JSON.stringify(f))).toEqual(JSON.parse(JSON.stringify(f))); // JSON-safe
  });

  test.skipIf(!isRoot)("another uid via setpriv: effective ids and names, real ids kept, supplementary groups", async () => {
    const exe = box.copy(SLEEP, "sleep-nobody");
    const proc = await box.spawn(["setpriv", "--reuid=65534", "--regid=65534", "--groups=27,100", exe, "30"], { exe });
    const f = await readProcessFacts(proc.pid);
    const groups = parseIdNames(readFileSync("/etc/group", "utf8"));
    const users = parseIdNames(readFileSync("/etc/passwd", "utf8"));
    expect(f).toMatchObject({ uid: 65534, realUid: 65534, gid: 65534, realGid: 65534, user: users.get(65534), group: groups.get(65534) });
    expect(f.supplementaryGids).toEqual([27, 100]);
    expect(f.supplementaryGroups).toEqual([groups.get(27) ?? null, groups.get(100) ?? null]);

    // Real and effective differ: the effective ids are the ones selectors use.
    const exe2 = box.copy(SLEEP, "sleep-euid");
    const p2 = await box.spawn(["setpriv", "--ruid=0", "--euid=65534", "--rgid=0", "--egid=65534", "--clear-groups", exe2, "30"], { exe: exe2 });
    expect(await readProcessFacts(p2.pid)).toMatchObject({ uid: 65534, realUid: 0, gid: 65534, realGid: 0, supplementaryGids: [] });
  });

  test("a script's process is its interpreter: exe is the shell, the script is only in argv", async () => {
    const script = box.script("agent.sh", "#!/bin/sh\nread line\n");
    const proc = await box.spawn([script], { exe: SH, stdin: "pipe" });
    const f = await readProcessFacts(proc.pid);
    expect(f.exePath).toBe(SH);
    expect(f.exeSha256).toBe(sha256File(SH));
    expect(f.cmdline).toEqual(["/bin/sh", script]);
  });

  test("a deleted executable: flagged, path kept without the suffix, still hashed through /proc/PID/exe", async () => {
    const exe = box.copy(SLEEP, "sleep-deleted", { extraByte: true });
    const hash = sha256File(exe);
    const proc = await box.spawn([exe, "30"]);
    unlinkSync(exe);
    const f = await readProcessFacts(proc.pid);
    expect(f).toMatchObject({ exePath: exe, exeDeleted: true, exeSha256: hash });
  });

  test('a file really named "… (deleted)" keeps its name and is not flagged', async () => {
    const exe = box.copy(SLEEP, "odd (deleted)");
    const proc = await box.spawn([exe, "30"]);
    expect(await readProcessFacts(proc.pid)).toMatchObject({ exePath: exe, exeDeleted: false });
  });
});

describe("a process caught in execve", () => {
  test("read right after spawn (the parent resumes mid-exec): never half-exec'd facts", async () => {
    // Bun.spawn returns when the child's execve has switched its memory, before the kernel has
    // set comm (for this copy), credentials and argv: the window readOnce waits out.
    const exe = box.copy(SLEEP, "exec-race");
    for (let i = 0; i < 40; i++) {
      const proc = Bun.spawn([exe, "30", String(i)], { stdio: ["ignore", "ignore", "ignore"] });
      try {
        const f = await readProcessFacts(proc.pid).catch((e: unknown) => e as Error);
        if (f instanceof Error) {
          // Still in the parent's pre-exec code (exe is bun's): a different program, read consistently.
          expect(f).toBeInstanceOf(IdentityError);
          continue;
        }
        if (f.exePath !== exe) {
          expect(f.cmdline[0]).not.toBe(exe); // the pre-exec child, consistently
          continue;
        }
        expect(f.cmdline).toEqual([exe, "30", String(i)]);
        expect(f.comm).toBe("exec-race");
      } finally {
        proc.kill("SIGKILL");
        await proc.exited;
      }
    }
  });
});

describe("limits", () => {
  test("an executable over the size cap is attested unhashed (too-large), not refused", async () => {
    const exe = box.copy(SLEEP, "sleep-big");
    const proc = await box.spawn([exe, "30"]);
    const f = await readProcessFacts(proc.pid, { hashLimitBytes: 1024 });
    expect(f.exeHash).toEqual({ status: "too-large", size: statSync(exe).size, limitBytes: 1024 });
    expect(f.exeSha256).toBeUndefined();
    expect(f.exePath).toBe(exe);
  });

  test("a hash over the time limit is abandoned (timeout) and its fd closed once the read returns", async () => {
    // Bun's own executable is ~100 MB: hashing it takes far longer than 1 ms.
    const before = openFdCount();
    const f: ProcessFacts = await readProcessFacts(process.pid, { hashTimeoutMs: 1 });
    expect(f.exeHash).toEqual({ status: "timeout", timeoutMs: 1 });
    expect(f.exeSha256).toBeUndefined();
    await waitFor(() => openFdCount() <= before, "the abandoned hash to close its fd");
  });

  test("the command line is read up to a limit and marked truncated", async () => {
    const exe = box.copy(SLEEP, "sleep-args");
    const args = Array.from({ length: 200 }, () => "1");
    const proc = await box.spawn([exe, ...args]);
    const f = await readProcessFacts(proc.pid, { cmdlineLimitBytes: exe.length + 1 + 20 });
    expect(f.cmdlineTruncated).toBe(true);
    expect(f.cmdline).toEqual([exe, ...Array.from({ length: 10 }, () => "1")]);
  });
});

describe("typed errors, never a guess", () => {
  test("an exited process: ERR_PROCESS_GONE", async () => {
    const exe = box.copy(SLEEP, "sleep-gone");
    const proc = await box.spawn([exe, "30"]);
    proc.kill("SIGKILL");
    await proc.exited;
    expect(await codeOf(readProcessFacts(proc.pid))).toBe("ERR_PROCESS_GONE");
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
    expect(await codeOf(readProcessFacts(pidMax))).toBe("ERR_PROCESS_GONE"); // pids are < pid_max
  });

  test("a zombie (exited, not reaped): ERR_PROCESS_GONE", async () => {
    // sh starts `true` in the background and execs sleep, which never reaps it.
    const exe = box.copy(SLEEP, "sleep-parent");
    const parent = await box.spawn([SH, "-c", `true & exec ${exe} 30`], { exe });
    const zombie = await waitFor(() => {
      const kids = readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, "utf8").trim();
      if (!kids) return undefined;
      const pid = Number(kids.split(" ")[0]);
      return readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ") ? pid : undefined;
    }, "a zombie child");
    const err = await readProcessFacts(zombie).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdentityError);
    expect((err as IdentityError).code).toBe("ERR_PROCESS_GONE");
    expect((err as Error).message).toContain("zombie");
  });

  test("a thread id: ERR_PROCESS_INVALID; a non-positive or fractional pid: TypeError", async () => {
    const tid = readdirSync("/proc/self/task").map(Number).find((t) => t !== process.pid);
    if (tid !== undefined) expect(await codeOf(readProcessFacts(tid))).toBe("ERR_PROCESS_INVALID");
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(await codeOf(readProcessFacts(bad))).toBe("TypeError");
  });
});

describe("a pidfd supplied by the caller (SO_PEERPIDFD)", () => {
  test("is used and left open; one naming another pid is a caller error", async () => {
    const exe = box.copy(SLEEP, "sleep-pidfd");
    const proc = await box.spawn([exe, "30"]);
    const fd = pidfdOpen(proc.pid);
    try {
      expect((await readProcessFacts(proc.pid, { pidfd: fd })).exePath).toBe(exe);
      expect(pidfdAlive(fd)).toBe(true); // still open and usable
      expect(await codeOf(readProcessFacts(process.pid, { pidfd: fd }))).toBe("TypeError");
    } finally {
      closeFd(fd);
    }
  });
});
