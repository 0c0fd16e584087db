import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { defineDatabase, openStore, type Migration } from "../../../src/store/index.ts";
import { rejection, tempRoot } from "./helpers.ts";

let tmp: ReturnType<typeof tempRoot>;
beforeEach(() => {
  tmp = tempRoot();
});
afterEach(() => tmp.cleanup());

const notes = defineDatabase<string, string>({ name: "notes" });

function recordingMigrations(calls: string[]): Migration[] {
  return [
    {
      to: 2,
      description: "add notes.v2",
      migrate(store) {
        calls.push("2");
        store.db(notes).putSync("v2", "added by 2");
      },
    },
    {
      to: 3,
      description: "rewrite notes.v2",
      migrate(store) {
        calls.push("3");
        // Sees the previous step's write: steps run in order.
        store.db(notes).putSync("v3", `${store.db(notes).get("v2")} then 3`);
      },
    },
  ];
}

describe("schema version and migrations", () => {
  test("a fresh store is stamped with the current version and runs no migration", async () => {
    const calls: string[] = [];
    const store = await openStore({ dataDir: tmp.dataDir, migrations: recordingMigrations(calls) });
    expect(store.schemaVersion).toBe(3);
    expect(store.meta.get("store.schemaVersion")).toBe(3);
    expect(calls).toEqual([]);
    await store.close();
  });

  test("an older store runs the missing steps once, in order, and keeps their writes", async () => {
    await (await openStore({ dataDir: tmp.dataDir, migrations: [] })).close(); // schema 1

    const calls: string[] = [];
    const store = await openStore({ dataDir: tmp.dataDir, migrations: recordingMigrations(calls) });
    expect(calls).toEqual(["2", "3"]);
    expect(store.schemaVersion).toBe(3);
    expect(store.db(notes).get("v3")).toBe("added by 2 then 3");
    await store.close();

    const again = await openStore({ dataDir: tmp.dataDir, migrations: recordingMigrations(calls) });
    expect(calls).toEqual(["2", "3"]);
    await again.close();
  });

  test("a failing step rolls back its writes and leaves the version at the last good step", async () => {
    await (await openStore({ dataDir: tmp.dataDir, migrations: [] })).close();
    const failing: Migration[] = [
      recordingMigrations([])[0]!,
      {
        to: 3,
        description: "fails half way",
        migrate(store) {
          store.db(notes).putSync("half", "written before the failure");
          throw new Error("disk says no");
        },
      },
    ];
    const err = await rejection(openStore({ dataDir: tmp.dataDir, migrations: failing }));
    expect(err.code).toBe("ERR_STORE_MIGRATION");
    expect(err.message).toContain("to schema 3 (fails half way) failed, it stays at 2: disk says no");

    const store = await openStore({ dataDir: tmp.dataDir, migrations: failing.slice(0, 1) });
    expect(store.schemaVersion).toBe(2);
    expect(store.db(notes).get("v2")).toBe("added by 2");
    expect(store.db(notes).get("half")).toBeUndefined();
    await store.close();
  });

  test("a store written by a newer sluice is refused, read-write and read-only", async () => {
    await (await openStore({ dataDir: tmp.dataDir, migrations: recordingMigrations([]) })).close(); // schema 3
    const err = await rejection(openStore({ dataDir: tmp.dataDir, migrations: [] }));
    expect(err.code).toBe("ERR_STORE_SCHEMA_NEWER");
    expect(err.message).toContain("written by a newer sluice");
    expect(err.message).toContain("schema 3");
    const ro = await rejection(openStore({ dataDir: tmp.dataDir, readOnly: true, migrations: [] }));
    expect(ro.code).toBe("ERR_STORE_SCHEMA_NEWER");
  });

  test("a read-only open of a store that needs migrating is refused (it cannot write)", async () => {
    await (await openStore({ dataDir: tmp.dataDir, migrations: [] })).close();
    const err = await rejection(openStore({ dataDir: tmp.dataDir, readOnly: true, migrations: recordingMigrations([]) }));
    expect(err.code).toBe("ERR_STORE_SCHEMA_OLDER");
  });

  test("migration lists must be numbered 2, 3, … in order", async () => {
    const step = (to: number): Migration => ({ to, description: "x", migrate() {} });
    for (const bad of [[step(3)], [step(2), step(2)], [step(2), step(4)], [step(1)]]) {
      expect(await rejection(openStore({ dataDir: tmp.dataDir, migrations: bad }))).toBeInstanceOf(TypeError);
    }
  });
});
