import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../../src/store/index.ts";
import { isRoot, NOBODY, rejection, runFixture, tempRoot } from "./helpers.ts";

let tmp: ReturnType<typeof tempRoot>;
beforeEach(() => {
  tmp = tempRoot();
});
afterEach(() => tmp.cleanup());

describe("data dir", () => {
  test("a fresh data dir is created 0700 with its parents, holding a 0600 lock file and the store", async () => {
    const dataDir = join(tmp.root, "var", "lib", "sluice");
    const store = await openStore({ dataDir });
    try {
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(tmp.root, "var", "lib")).mode & 0o777).toBe(0o700);
      expect(statSync(join(dataDir, "sluice.lock")).mode & 0o777).toBe(0o600);
      expect(statSync(join(dataDir, "store")).mode & 0o777).toBe(0o700);
      expect(statSync(join(dataDir, "store", "data.mdb")).mode & 0o777).toBe(0o600);
      expect(store.dataDir).toBe(dataDir);
      expect(store.readOnly).toBe(false);
    } finally {
      await store.close();
    }
  });

  test("a file where the data dir should be is refused", async () => {
    writeFileSync(tmp.dataDir, "not a dir");
    const err = await rejection(openStore({ dataDir: tmp.dataDir }));
    expect(err.code).toBe("ERR_STORE_NOT_A_DIRECTORY");
    expect(err.message).toContain(tmp.dataDir);
  });

  test("read-only open of a data dir that does not exist says so", async () => {
    const err = await rejection(openStore({ dataDir: tmp.dataDir, readOnly: true }));
    expect(err.code).toBe("ERR_STORE_NOT_FOUND");
    mkdirSync(tmp.dataDir);
    const err2 = await rejection(openStore({ dataDir: tmp.dataDir, readOnly: true }));
    expect(err2.code).toBe("ERR_STORE_NOT_FOUND");
    expect(err2.message).toContain("sluice serve");
  });

  // chmod does not stop root, so as root the check runs in a child demoted to nobody with setpriv.
  test("a data dir the process cannot write (0500) is refused with the uid and the fix", async () => {
    mkdirSync(tmp.dataDir, { mode: 0o700 });
    let result: Record<string, unknown>;
    let uid: number;
    if (isRoot) {
      chmodSync(tmp.root, 0o755); // let nobody reach the data dir
      chownSync(tmp.dataDir, NOBODY, NOBODY);
      chmodSync(tmp.dataDir, 0o500);
      uid = NOBODY;
      result = await runFixture("open-store.ts", [tmp.dataDir], ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"]);
    } else {
      chmodSync(tmp.dataDir, 0o500);
      uid = process.getuid!();
      result = await runFixture("open-store.ts", [tmp.dataDir]);
    }
    expect(result.ok).toBe(false);
    expect(result.code).toBe("ERR_STORE_NOT_WRITABLE");
    expect(result.message).toContain(tmp.dataDir);
    expect(result.message).toContain(`uid ${uid}`);
    expect(result.message).toContain("run as root or set dataDir in sluice.yaml / SLUICE_DATA_DIR");
  });

  test("a data dir that cannot be created is refused the same way", async () => {
    const parent = join(tmp.root, "locked");
    mkdirSync(parent, { mode: 0o755 });
    const dataDir = join(parent, "data");
    let result: Record<string, unknown>;
    if (isRoot) {
      chmodSync(tmp.root, 0o755);
      result = await runFixture("open-store.ts", [dataDir], ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"]);
    } else {
      chmodSync(parent, 0o500);
      result = await runFixture("open-store.ts", [dataDir]);
    }
    expect(result.code).toBe("ERR_STORE_NOT_WRITABLE");
    expect(result.message).toContain(`cannot create data dir ${dataDir}`);
  });
});
