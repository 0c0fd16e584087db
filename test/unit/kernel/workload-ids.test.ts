import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { storedWorkloadIds } from "../../../src/kernel/workload-ids.ts";
import { openStore } from "../../../src/store/index.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-wlids-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("ids start at 1, are stable, survive a restart, and are never reused", async () => {
  let store = await openStore({ dataDir: join(dir, "data") });
  let ids = storedWorkloadIds(store);
  expect(ids.idFor("spiffe://td/a")).toBe(1);
  expect(ids.idFor("spiffe://td/b")).toBe(2);
  expect(ids.idFor("spiffe://td/a")).toBe(1);
  expect(ids.spiffeIdOf(2)).toBe("spiffe://td/b");
  await store.close();

  store = await openStore({ dataDir: join(dir, "data") });
  ids = storedWorkloadIds(store);
  expect(ids.spiffeIdOf(1)).toBe("spiffe://td/a");
  expect(ids.idFor("spiffe://td/b")).toBe(2);
  expect(ids.idFor("spiffe://td/c")).toBe(3);
  expect(ids.spiffeIdOf(0)).toBeUndefined();
  await store.close();
});
