/** Use tracking, idle expiry (with audit records) and `sluice client list|rm` on a real store. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runSluice } from "../../support/run-sluice.ts";
import { MCP_SDK_LIKE, openFixture, register, type Fixture } from "./support.ts";

let f: Fixture;
beforeAll(async () => {
  f = await openFixture({ idleExpirySeconds: 3600 });
});
afterAll(() => f.close());

describe("idle expiry", () => {
  test("a client used within the idle period stays; an unused one expires, audited", async () => {
    const used = (await register(f, MCP_SDK_LIKE)).body.client_id as string;
    const unused = (await register(f, MCP_SDK_LIKE)).body.client_id as string;
    f.clock.advance(50 * 60_000);
    f.clients.registry.touch(used);
    f.clients.registry.flushTouches();
    await f.store.flushed();
    f.clock.advance(20 * 60_000);
    // Past its idle period the unused client is gone at once, before any sweep.
    expect(await f.clients.registry.get(unused)).toBeUndefined();
    expect(await f.clients.registry.sweep()).toBe(1);
    expect(await f.clients.registry.get(used)).toBeDefined();
    expect(f.clients.registry.list().map((c) => c.clientId)).not.toContain(unused);
    const expired = (await f.auditRecords("oauth.client.expire")).map((r) => r.details?.clientId);
    expect(expired).toEqual([unused]);
  });
  test("touch is batched: nothing is written until the flush", async () => {
    const id = (await register(f, MCP_SDK_LIKE)).body.client_id as string;
    const before = f.clients.registry.list().find((c) => c.clientId === id)!.lastUsedAt;
    f.clock.advance(5_000);
    f.clients.registry.touch(id);
    const { clientsDb } = await import("../../../src/oauth/clients/index.ts");
    expect(f.store.db(clientsDb).get(id)!.lastUsedAt).toBe(before);
    f.clients.registry.flushTouches();
    await f.store.flushed();
    expect(f.store.db(clientsDb).get(id)!.lastUsedAt).toBeGreaterThan(before);
  });
});

describe("sluice client list|rm", () => {
  test("list works next to the running registry (read-only); rm needs the store", async () => {
    const id = (await register(f, { ...MCP_SDK_LIKE, client_name: "listed agent" })).body.client_id as string;
    await f.store.flushed();
    const env = { SLUICE_DATA_DIR: f.dataDir };
    const list = await runSluice(["client", "list", "--json"], { env });
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as Record<string, unknown>[];
    expect(rows.find((r) => r.client_id === id)).toMatchObject({ client_name: "listed agent", origin: "dynamic", token_endpoint_auth_method: "none" });
    const table = await runSluice(["client", "list"], { env });
    expect(table.stdout).toContain("listed agent");
    expect(table.stdout.split("\n")[0]).toMatch(/^CLIENT ID +AUTH +ORIGIN/);

    const locked = await runSluice(["client", "rm", id], { env });
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain("stop `sluice serve`");

    await f.shutdown();
    const rm = await runSluice(["client", "rm", id], { env });
    expect(rm.code).toBe(0);
    expect(rm.stdout).toBe(`removed client ${id}\n`);
    const again = await runSluice(["client", "rm", id], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("no client");
    const after = JSON.parse((await runSluice(["client", "list", "--json"], { env })).stdout) as Record<string, unknown>[];
    expect(after.map((r) => r.client_id)).not.toContain(id);
    const tail = await runSluice(["audit", "tail", "--json", "-n", "5"], { env });
    expect(tail.stdout).toContain('"kind":"oauth.client.remove"');
  }, 30_000);
  test("rm without an id is a usage error", async () => {
    const r = await runSluice(["client", "rm"], { env: { SLUICE_DATA_DIR: f.dataDir } });
    expect(r.code).toBe(2);
  }, 10_000);
});
