import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../../src/store/index.ts";
import { isRoot, NOBODY, rejection, tempRoot } from "./helpers.ts";

let tmp: ReturnType<typeof tempRoot>;
beforeEach(() => {
  tmp = tempRoot();
});
afterEach(() => tmp.cleanup());

const keyPath = () => join(tmp.dataDir, "master.key");

async function createStore(): Promise<void> {
  const store = await openStore({ dataDir: tmp.dataDir });
  await store.close();
}

describe("master key", () => {
  test("first start creates 32 random bytes with mode 0600 and no leftover temp file", async () => {
    await createStore();
    const st = statSync(keyPath());
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.size).toBe(32);
    expect(st.uid).toBe(process.getuid!());
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(tmp.dataDir).sort()).toEqual(["master.key", "sluice.lock", "store"]);
  });

  test("reopening keeps the same key: a value sealed before a restart still opens", async () => {
    const first = await openStore({ dataDir: tmp.dataDir });
    const before = readFileSync(keyPath());
    const envelope = first.sealer("broker-tokens").seal("refresh-token-value", "tokens/alice");
    await first.close();

    const second = await openStore({ dataDir: tmp.dataDir });
    try {
      expect(readFileSync(keyPath()).equals(before)).toBe(true);
      expect(second.sealer("broker-tokens").openString(envelope, "tokens/alice")).toBe("refresh-token-value");
    } finally {
      await second.close();
    }
  });

  test("two stores get different keys", async () => {
    await createStore();
    const other = tempRoot();
    try {
      const store = await openStore({ dataDir: other.dataDir });
      await store.close();
      expect(readFileSync(keyPath()).equals(readFileSync(join(other.dataDir, "master.key")))).toBe(false);
    } finally {
      other.cleanup();
    }
  });

  test("a key readable by group or others (0644, 0640) is refused with the chmod fix, and left untouched", async () => {
    await createStore();
    const before = readFileSync(keyPath());
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(keyPath(), mode);
      const err = await rejection(openStore({ dataDir: tmp.dataDir }));
      expect(err.code).toBe("ERR_MASTER_KEY_MODE");
      expect(err.message).toContain(keyPath());
      expect(err.message).toContain(`chmod 600 ${keyPath()}`);
    }
    expect(readFileSync(keyPath()).equals(before)).toBe(true);
    chmodSync(keyPath(), 0o400); // narrower than 0600 is fine
    await createStore();
  });

  test("a key of the wrong size is refused, never regenerated", async () => {
    await createStore();
    for (const bytes of [Buffer.alloc(0), Buffer.alloc(31, 1), Buffer.alloc(33, 1)]) {
      writeFileSync(keyPath(), bytes, { mode: 0o600 });
      const err = await rejection(openStore({ dataDir: tmp.dataDir }));
      expect(err.code).toBe("ERR_MASTER_KEY_INVALID");
      expect(err.message).toContain(keyPath());
      expect(statSync(keyPath()).size).toBe(bytes.length);
    }
  });

  // Giving a file away needs root (chown); as another user this case cannot be set up.
  test.skipIf(!isRoot)("a key owned by another user is refused (needs root to chown)", async () => {
    await createStore();
    chownSync(keyPath(), NOBODY, NOBODY);
    const err = await rejection(openStore({ dataDir: tmp.dataDir }));
    expect(err.code).toBe("ERR_MASTER_KEY_MODE");
    expect(err.message).toContain(`owned by uid ${NOBODY}`);
  });

  test("a symlink or directory in place of the key is refused", async () => {
    await createStore();
    renameSync(keyPath(), join(tmp.root, "elsewhere.key"));
    const { symlinkSync, mkdirSync } = await import("node:fs");
    symlinkSync(join(tmp.root, "elsewhere.key"), keyPath());
    expect((await rejection(openStore({ dataDir: tmp.dataDir }))).code).toBe("ERR_MASTER_KEY_INVALID");
    rmSync(keyPath());
    mkdirSync(keyPath());
    expect((await rejection(openStore({ dataDir: tmp.dataDir }))).code).toBe("ERR_MASTER_KEY_INVALID");
  });

  test("a missing key next to an existing store is refused instead of silently replaced", async () => {
    await createStore();
    rmSync(keyPath());
    const err = await rejection(openStore({ dataDir: tmp.dataDir }));
    expect(err.code).toBe("ERR_MASTER_KEY_MISSING");
    expect(err.message).toContain("restore master.key");
    expect(() => statSync(keyPath())).toThrow();
  });

  test("another store's key is recognised as foreign", async () => {
    await createStore();
    const other = tempRoot();
    try {
      await (await openStore({ dataDir: other.dataDir })).close();
      writeFileSync(keyPath(), readFileSync(join(other.dataDir, "master.key")), { mode: 0o600 });
      const err = await rejection(openStore({ dataDir: tmp.dataDir }));
      expect(err.code).toBe("ERR_MASTER_KEY_MISMATCH");
    } finally {
      other.cleanup();
    }
  });

  test("key material never shows up when a store or sealer is printed or serialized", async () => {
    const store = await openStore({ dataDir: tmp.dataDir });
    try {
      const hex = readFileSync(keyPath()).toString("hex");
      const b64 = readFileSync(keyPath()).toString("base64");
      const { inspect } = await import("node:util");
      const shown = [inspect(store, { depth: 5, showHidden: true }), JSON.stringify(store), inspect(store.sealer("x"), { depth: 5 }), inspect(store.deriveKey("x"))].join("\n");
      expect(shown).not.toContain(hex);
      expect(shown).not.toContain(b64);
    } finally {
      await store.close();
    }
  });
});
