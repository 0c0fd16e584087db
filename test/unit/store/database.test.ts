import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { defineDatabase, openStore, type Store } from "../../../src/store/index.ts";
import { rejection, tempRoot, thrown } from "./helpers.ts";

interface Client {
  id: string;
  redirectUris: string[];
  createdAt: number;
  spiffeId?: string;
}

const clients = defineDatabase<string, Client>({ name: "clients" });
const events = defineDatabase<number, { n: number }>({ name: "events", keyEncoding: "uint32" });
const grants = defineDatabase<[string, number], string>({ name: "grants" });
const blobs = defineDatabase<string, Uint8Array>({ name: "blobs", encoding: "binary" });
const counters = defineDatabase<string, number>({ name: "counters" });

const tmp = tempRoot();
let store: Store;
beforeAll(async () => {
  store = await openStore({ dataDir: tmp.dataDir });
});
afterAll(async () => {
  await store.close();
  tmp.cleanup();
});

describe("typed sub-databases", () => {
  test("structured values round trip through put/get, async and sync", async () => {
    const db = store.db(clients);
    const client: Client = { id: "c1", redirectUris: ["http://127.0.0.1:3334/cb"], createdAt: 1700000000, spiffeId: "spiffe://acme.corp/claude" };
    expect(await db.put("c1", client)).toBe(true);
    expect(db.get("c1")).toEqual(client);
    db.putSync("c2", { id: "c2", redirectUris: [], createdAt: 1 });
    expect(db.get("c2")?.redirectUris).toEqual([]);
    expect(db.has("c2")).toBe(true);
    expect(db.get("missing")).toBeUndefined();
    expect(await db.remove("c2")).toBe(true);
    expect(db.has("c2")).toBe(false);
    expect(db.removeSync("c1")).toBe(true);
    expect(db.count()).toBe(0);
  });

  test("uint32 keys iterate in numeric order; ranges, reverse, limit and count", async () => {
    const db = store.db(events);
    for (const n of [10, 2, 300, 1, 70000]) void db.put(n, { n });
    await store.flushed();
    expect([...db.keys()]).toEqual([1, 2, 10, 300, 70000]);
    expect([...db.getRange({ start: 2, end: 300 })].map((e) => e.key)).toEqual([2, 10]);
    expect([...db.getRange({ start: 2, end: 300, inclusiveEnd: true })].map((e) => e.value.n)).toEqual([2, 10, 300]);
    expect([...db.getRange({ reverse: true, limit: 2 })].map((e) => e.key)).toEqual([70000, 300]);
    expect(db.count()).toBe(5);
    expect(db.count({ start: 10 })).toBe(3);
  });

  test("compound keys sort element by element", async () => {
    const db = store.db(grants);
    await Promise.all([db.put(["bob", 2], "b2"), db.put(["alice", 10], "a10"), db.put(["alice", 9], "a9")]);
    expect([...db.getRange()].map((e) => e.value)).toEqual(["a9", "a10", "b2"]);
    expect([...db.getRange({ start: ["alice", 0], end: ["alice", Number.MAX_SAFE_INTEGER] })].map((e) => e.value)).toEqual(["a9", "a10"]);
  });

  test("binary values come back byte for byte", async () => {
    const db = store.db(blobs);
    const bytes = crypto.getRandomValues(new Uint8Array(4096));
    await db.put("k", bytes);
    expect(Buffer.from(db.get("k")!).equals(Buffer.from(bytes))).toBe(true);
  });

  test("the same definition (or an identical one) returns the same database; other encodings are refused", () => {
    expect(store.db(clients)).toBe(store.db(clients));
    expect(store.db(defineDatabase<string, Client>({ name: "clients" }))).toBe(store.db(clients));
    expect(() => store.db(defineDatabase<number, Client>({ name: "clients", keyEncoding: "uint32" }))).toThrow(TypeError);
    expect(() => defineDatabase({ name: "Bad Name" })).toThrow(TypeError);
  });

  test("meta holds arbitrary values", async () => {
    await store.meta.put("policy.lastGood", { digest: "abc", files: 3 });
    expect(store.meta.get("policy.lastGood")).toEqual({ digest: "abc", files: 3 });
    expect(store.meta.get("store.schemaVersion")).toBe(1);
  });
});

describe("transactions", () => {
  test("transaction() commits all writes together and returns the callback's result", async () => {
    const db = store.db(counters);
    const result = await store.transaction(() => {
      db.putSync("a", 1);
      db.putSync("b", (db.get("a") ?? 0) + 1); // reads see the transaction's own writes
      return "done";
    });
    expect(result).toBe("done");
    expect([db.get("a"), db.get("b")]).toEqual([1, 2]);
  });

  test("a throwing transaction() leaves no partial writes, and other queued writes still land", async () => {
    const db = store.db(counters);
    const before = db.put("before", 1);
    const failed = store.transaction(() => {
      db.putSync("x", 1);
      store.meta.putSync("x", 1);
      throw new Error("abort half way");
    });
    const after = db.put("after", 1);
    expect((await rejection(failed)).message).toBe("abort half way");
    await Promise.all([before, after]);
    expect(db.get("x")).toBeUndefined();
    expect(store.meta.get("x")).toBeUndefined();
    expect([db.get("before"), db.get("after")]).toEqual([1, 1]);
  });

  test("a throwing transactionSync() leaves no partial writes", () => {
    const db = store.db(counters);
    const err = thrown(() =>
      store.transactionSync(() => {
        db.putSync("y", 1);
        void db.put("y2", 1); // async form joins the open transaction
        throw new Error("nope");
      }),
    );
    expect(err.message).toBe("nope");
    expect(db.get("y")).toBeUndefined();
    expect(db.get("y2")).toBeUndefined();
    expect(store.transactionSync(() => (db.putSync("z", 7), db.get("z")))).toBe(7);
  });

  test("read-modify-write in concurrent transactions never loses an update", async () => {
    const db = store.db(counters);
    db.putSync("n", 0);
    await Promise.all(Array.from({ length: 50 }, () => store.transaction(() => db.putSync("n", db.get("n")! + 1))));
    expect(db.get("n")).toBe(50);
  });

  test("async callbacks are refused (they would hold the write lock across awaits)", async () => {
    const db = store.db(counters);
    const err = await rejection(store.transaction(async () => db.putSync("async", 1)));
    expect(err).toBeInstanceOf(TypeError);
    expect(db.get("async")).toBeUndefined();
  });
});

describe("read-only stores", () => {
  test("read the writer's data, refuse writes, and see a database the writer creates later", async () => {
    const other = tempRoot();
    try {
      const writer = await openStore({ dataDir: other.dataDir });
      await writer.db(clients).put("c1", { id: "c1", redirectUris: [], createdAt: 1 });
      await writer.close();

      const { runFixture } = await import("./helpers.ts");
      const reader = await openStore({ dataDir: other.dataDir, readOnly: true });
      try {
        expect(reader.db(clients).get("c1")?.id).toBe("c1");
        expect(reader.db(events).count()).toBe(0); // never created: empty, not an error
        expect(thrown(() => reader.db(clients).putSync("c2", { id: "c2", redirectUris: [], createdAt: 1 })).code).toBe("ERR_STORE_READ_ONLY");
        expect(() => reader.transactionSync(() => 1)).toThrow("read-only");
        // A writer in another process adds a database; the reader picks it up.
        const result = await runFixture("write-events.ts", [other.dataDir, "3"]);
        expect(result.ok).toBe(true);
        await Bun.sleep(1);
        expect([...reader.db(events).keys()]).toEqual([1, 2, 3]);
      } finally {
        await reader.close();
      }
    } finally {
      other.cleanup();
    }
  });
});
