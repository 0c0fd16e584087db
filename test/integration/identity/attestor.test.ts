/** The Attestor's cache: hits and misses, one hash per binary, LRU bound, exit, exec and credential changes. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { Attestor, IdentityError } from "../../../src/identity/index.ts";
import { snapshotOf, wi } from "../../unit/identity/helpers.ts";
import { exeOf, isRoot, openFdCount, Sandbox, SH, SLEEP, waitFor } from "./helpers.ts";

const box = new Sandbox();
afterAll(() => box.cleanup());
const EMPTY = { workloads: () => [] };

describe("cache", () => {
  test("first identify reads procfs, the next ones are hits until maxAgeMs", async () => {
    const exe = box.copy(SLEEP, "c-hit");
    const proc = await box.spawn([exe, "30"]);
    const snap = snapshotOf({ "p.yaml": wi("w", `    - process:binary:path: ${exe}`) });
    const attestor = new Attestor({ sweepIntervalMs: 0, maxAgeMs: 60_000 });
    const first = await attestor.identify(proc.pid, snap);
    expect(first.cached).toBe(false);
    expect(first.match.workload?.name).toBe("w");
    const second = await attestor.identify(proc.pid, snap);
    expect(second.cached).toBe(true);
    expect(second.facts).toBe(first.facts);
    expect(second.match).toBe(first.match); // match cached per snapshot too
    expect(attestor.identifyCached(proc.pid, snap)?.cached).toBe(true);
    expect(attestor.stats).toMatchObject({ entries: 1, hits: 2, misses: 1 });

    // A new snapshot re-matches the cached facts.
    const other = snapshotOf({ "p.yaml": wi("v", `    - process:binary:path: ${exe}`) });
    expect((await attestor.identify(proc.pid, other)).match.workload?.name).toBe("v");
    expect(attestor.stats.misses).toBe(1);

    expect(attestor.invalidate(proc.pid)).toBe(true);
    expect((await attestor.identify(proc.pid, snap)).cached).toBe(false);
    attestor.close();

    const noCache = new Attestor({ sweepIntervalMs: 0, maxAgeMs: 0 });
    await noCache.identify(proc.pid, snap);
    expect((await noCache.identify(proc.pid, snap)).cached).toBe(false);
    noCache.close();
  });

  test("100 processes of one binary: hashed once", async () => {
    const exe = box.copy(SLEEP, "c-many");
    const procs = await Promise.all(Array.from({ length: 100 }, () => box.spawn([exe, "30"])));
    const attestor = new Attestor({ sweepIntervalMs: 0 });
    const results = await Promise.all(procs.map((p) => attestor.identify(p.pid, EMPTY)));
    expect(new Set(results.map((r) => r.facts.exeSha256)).size).toBe(1);
    expect(attestor.stats).toMatchObject({ entries: 100, misses: 100, hashed: 1, hashHits: 99 });
    attestor.clear();
    await attestor.identify(procs[0]!.pid, EMPTY);
    expect(attestor.stats.hashed).toBe(1); // facts cleared, hash kept (same device, inode, size, mtime, ctime)
    attestor.clear({ hashes: true });
    await attestor.identify(procs[0]!.pid, EMPTY);
    expect(attestor.stats.hashed).toBe(2);
    attestor.close();
  }, 30_000);

  test("bounded: the least recently used entry goes, with its pidfd", async () => {
    const exe = box.copy(SLEEP, "c-lru");
    const procs = await Promise.all([0, 1, 2].map(() => box.spawn([exe, "30"])));
    const attestor = new Attestor({ sweepIntervalMs: 0, cacheSize: 2 });
    const fds = openFdCount();
    for (const p of procs) await attestor.identify(p.pid, EMPTY);
    expect(attestor.stats.entries).toBe(2);
    expect(openFdCount()).toBe(fds + 2); // one pidfd per entry, the evicted one closed
    expect((await attestor.identify(procs[2]!.pid, EMPTY)).cached).toBe(true);
    expect((await attestor.identify(procs[0]!.pid, EMPTY)).cached).toBe(false); // was evicted
    attestor.close();
    expect(openFdCount()).toBe(fds);
  });

  test("an exited process is dropped: on lookup (ERR_PROCESS_GONE) and by sweep()", async () => {
    const exe = box.copy(SLEEP, "c-exit");
    const [p1, p2] = await Promise.all([box.spawn([exe, "30"]), box.spawn([exe, "30"])]);
    const attestor = new Attestor({ sweepIntervalMs: 0 });
    await attestor.identify(p1.pid, EMPTY);
    await attestor.identify(p2.pid, EMPTY);
    p1.kill("SIGKILL");
    p2.kill("SIGKILL");
    await Promise.all([p1.exited, p2.exited]);
    const err = await attestor.identify(p1.pid, EMPTY).catch((e: unknown) => e);
    expect((err as IdentityError).code).toBe("ERR_PROCESS_GONE");
    expect(attestor.stats.entries).toBe(1);
    expect(attestor.sweep()).toBe(1);
    expect(attestor.stats.entries).toBe(0);
    attestor.close();
  });
});

describe("the cache notices what changes a process's identity", () => {
  test("exec of another binary after it was cached", async () => {
    const next = box.copy(SLEEP, "c-next");
    const proc = await box.spawnPiped([SH, "-c", `read line; exec ${next} 30`]);
    const snap = snapshotOf({ "p.yaml": wi("next", `    - process:binary:path: ${next}`) });
    const attestor = new Attestor({ sweepIntervalMs: 0, maxAgeMs: 60_000 });
    const before = await attestor.identify(proc.pid, snap);
    expect(before.facts.exePath).toBe(SH);
    expect(before.match.workload).toBeUndefined();
    proc.stdin.write("go\n");
    proc.stdin.flush();
    await waitFor(() => exeOf(proc.pid) === next, "the exec");
    const after = await attestor.identify(proc.pid, snap);
    expect(after.cached).toBe(false);
    expect(after.facts.exePath).toBe(next);
    expect(after.facts.startTime).toBe(before.facts.startTime); // same process, new program
    expect(after.match.workload?.name).toBe("next");
    attestor.close();
  });

  const seteuidSkip = !isRoot ? "not root" : process.arch !== "x64" ? `prctl number is for x64, not ${process.arch}` : !existsSync("/usr/bin/perl") ? "no /usr/bin/perl" : "";
  if (seteuidSkip) console.warn(`attestor: skipping "seteuid after it was cached": ${seteuidSkip}`);
  test.skipIf(seteuidSkip !== "")("seteuid after it was cached", async () => {
    // perl as root: on a line, set euid/egid to 65534 and mark itself dumpable again (prctl 157,
    // PR_SET_DUMPABLE=4: x86-64 numbers) so /proc/PID shows its owner; then wait.
    const code = '$|=1; <STDIN>; $) = "65534 65534"; $> = 65534; syscall(157, 4, 1, 0, 0, 0); print "done\\n"; <STDIN>;';
    const proc = Bun.spawn(["/usr/bin/perl", "-e", code], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
    await waitFor(() => exeOf(proc.pid) === "/usr/bin/perl", "perl to start");
    const snap = snapshotOf({ "p.yaml": wi("root-perl", "    - process:uid: 0\n      process:binary:path: /usr/bin/perl") });
    const attestor = new Attestor({ sweepIntervalMs: 0, maxAgeMs: 60_000 });
    try {
      expect((await attestor.identify(proc.pid, snap)).match.workload?.name).toBe("root-perl");
      proc.stdin.write("go\n");
      proc.stdin.flush();
      const reader = proc.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("done\n");
      const after = await attestor.identify(proc.pid, snap);
      expect(after.cached).toBe(false);
      expect(after.facts).toMatchObject({ uid: 65534, realUid: 0, gid: 65534 });
      expect(after.match.workload).toBeUndefined();
    } finally {
      attestor.close();
      proc.kill("SIGKILL");
      await proc.exited;
    }
  });

  test("a pidfd from the caller bypasses the facts cache", async () => {
    const { pidfdOpen, closeFd } = await import("../../../src/identity/sys.ts");
    const exe = box.copy(SLEEP, "c-pidfd");
    const proc = await box.spawn([exe, "30"]);
    const attestor = new Attestor({ sweepIntervalMs: 0 });
    const fd = pidfdOpen(proc.pid);
    try {
      expect((await attestor.identify(proc.pid, EMPTY, { pidfd: fd })).cached).toBe(false);
      expect((await attestor.identify(proc.pid, EMPTY, { pidfd: fd })).cached).toBe(false);
      expect(attestor.stats.entries).toBe(0);
    } finally {
      closeFd(fd);
      attestor.close();
    }
  });
});
