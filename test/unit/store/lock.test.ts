import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../../src/store/index.ts";
import { rejection, runFixture, startFixture, tempRoot } from "./helpers.ts";

let tmp: ReturnType<typeof tempRoot>;
beforeEach(() => {
  tmp = tempRoot();
});
afterEach(() => tmp.cleanup());

describe("exclusive ownership of the data dir", () => {
  test("a store held by another process is refused with that process's pid; killing it frees the lock", async () => {
    const holder = await startFixture("hold-store.ts", [tmp.dataDir]);
    try {
      expect(holder.first.ready).toBe(true);
      const pid = holder.proc.pid;
      expect(holder.first.pid).toBe(pid);
      expect(readFileSync(join(tmp.dataDir, "sluice.lock"), "utf8").trim()).toBe(String(pid));

      const err = await rejection(openStore({ dataDir: tmp.dataDir }));
      expect(err.code).toBe("ERR_STORE_LOCKED");
      expect(err.message).toBe(`data dir ${tmp.dataDir} is in use by another sluice (pid ${pid}); stop it first`);

      // A third process is refused too (the lock is per open file, not per process).
      const third = await runFixture("open-store.ts", [tmp.dataDir]);
      expect(third.code).toBe("ERR_STORE_LOCKED");

      // Read-only openers (CLI next to serve) need no lock.
      const reader = await openStore({ dataDir: tmp.dataDir, readOnly: true });
      expect(reader.readOnly).toBe(true);
      await reader.close();
    } finally {
      holder.proc.kill("SIGKILL");
      await holder.proc.exited;
    }
    // No stale lock after a hard kill: the kernel released it with the process.
    const store = await openStore({ dataDir: tmp.dataDir });
    expect(readFileSync(join(tmp.dataDir, "sluice.lock"), "utf8").trim()).toBe(String(process.pid));
    await store.close();
  });

  test("a second open in the same process is refused; close releases the lock", async () => {
    const store = await openStore({ dataDir: tmp.dataDir });
    const err = await rejection(openStore({ dataDir: tmp.dataDir }));
    expect(err.code).toBe("ERR_STORE_LOCKED");
    expect(err.message).toContain("this process");
    await store.close();
    await store.close(); // idempotent

    const child = await runFixture("open-store.ts", [tmp.dataDir]);
    expect(child.ok).toBe(true);
    const again = await openStore({ dataDir: tmp.dataDir });
    await again.close();
  });

  test("a failed open (bad key) releases the lock it took", async () => {
    await (await openStore({ dataDir: tmp.dataDir })).close();
    const { chmodSync } = await import("node:fs");
    chmodSync(join(tmp.dataDir, "master.key"), 0o644);
    expect((await rejection(openStore({ dataDir: tmp.dataDir }))).code).toBe("ERR_MASTER_KEY_MODE");
    chmodSync(join(tmp.dataDir, "master.key"), 0o600);
    const child = await runFixture("open-store.ts", [tmp.dataDir]);
    expect(child.ok).toBe(true);
  });
});
