/**
 * `sluice user …` both ways: straight on the store when no server holds it, and through the admin
 * socket (<dataDir>/admin.sock + admin.token) while a server does (here the users service and
 * serve's admin socket in this test process, which holds the store's flock exactly as `sluice serve`
 * does; test/integration/admin/ runs the same against a real `sluice serve`).
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSluice } from "../../support/run-sluice.ts";
import { startUsersHarness } from "../../support/users/harness.ts";

// Each command is a fresh process (~0.3–1 s on a busy 2-core box).
setDefaultTimeout(60_000);

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const json = (out: string) => JSON.parse(out) as never;

describe("sluice user, no server running (opens the store itself)", () => {
  const root = mkdtempSync(join(tmpdir(), "sluice-user-cli-"));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const env = { SLUICE_DATA_DIR: join(root, "data"), SLUICE_ISSUER: "https://sluice.example.com", SLUICE_TRUST_DOMAIN: "acme.corp" };

  test("add prints a one-time enrollment URL under the issuer; list, enroll, rm", async () => {
    const add = await runSluice(["user", "add", "alice", "--admin", "--json"], { env });
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    const link = json(add.stdout) as { url: string; spiffeId: string; expiresAt: string };
    expect(link.url).toMatch(/^https:\/\/sluice\.example\.com\/enroll\/[A-Za-z0-9_-]{43}$/);
    expect(link.spiffeId).toBe("spiffe://acme.corp/user/alice");
    const minutes = (Date.parse(link.expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(14);
    expect(minutes).toBeLessThanOrEqual(15);

    const text = await runSluice(["user", "add", "bob"], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("https://sluice.example.com/enroll/");

    const list = json((await runSluice(["user", "list", "--json"], { env })).stdout) as { name: string; admin: boolean; passkeys: number }[];
    expect(list.map((u) => [u.name, u.admin, u.passkeys])).toEqual([["alice", true, 0], ["bob", false, 0]]);

    const dup = await runSluice(["user", "add", "alice"], { env });
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("already exists");

    const bad = await runSluice(["user", "add", "Alice/../x"], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("is invalid");

    const again = json((await runSluice(["user", "enroll", "bob", "--json"], { env })).stdout) as { url: string };
    expect(again.url).not.toBe(link.url);

    expect((await runSluice(["user", "rm", "bob"], { env })).code).toBe(0);
    expect((await runSluice(["user", "rm", "bob"], { env })).stderr).toContain("no user bob");
    expect((await runSluice(["user", "passkeys", "alice", "--json"], { env })).stdout.trim()).toBe("[]");
    expect((await runSluice(["user", "consents", "alice", "--json"], { env })).stdout.trim()).toBe("[]");
    expect((await runSluice(["user", "add"], { env })).code).toBe(2);
  });
});

describe("sluice user while the server holds the store (admin socket)", () => {
  test("the CLI goes through the socket; socket and token are 0600; a wrong token is refused", async () => {
    const h = await startUsersHarness();
    cleanups.push(() => h.close());
    const env = { SLUICE_DATA_DIR: h.config.dataDir, SLUICE_ISSUER: h.issuer, SLUICE_TRUST_DOMAIN: "example.org" };
    const socket = h.adminSocketPath;
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(h.config.dataDir, "admin.token")).mode & 0o777).toBe(0o600);

    const add = await runSluice(["user", "add", "dave", "--json"], { env });
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    const link = json(add.stdout) as { url: string };
    expect(link.url).toStartWith(`${h.issuer}/enroll/`);
    // The server's own view has the user, and the link works against it.
    expect(h.users.directory.get("dave")).toMatchObject({ spiffeId: "spiffe://example.org/user/dave", admin: false });
    expect((await fetch(link.url)).status).toBe(200);

    const list = json((await runSluice(["user", "list", "--json"], { env })).stdout) as { name: string }[];
    expect(list.map((u) => u.name)).toEqual(["dave"]);
    const missing = await runSluice(["user", "passkeys", "nobody"], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no user nobody");
    expect((await runSluice(["user", "rm", "dave"], { env })).code).toBe(0);
    expect(h.users.directory.get("dave")).toBeUndefined();

    const wrong = await fetch("http://sluice/v1/users", { unix: socket, method: "POST", headers: { authorization: "Bearer nope" }, body: JSON.stringify({ op: "list" }) });
    expect(wrong.status).toBe(401);
    const token = (await Bun.file(join(h.config.dataDir, "admin.token")).text()).trim();
    const junk = await fetch("http://sluice/v1/users", { unix: socket, method: "POST", headers: { authorization: `Bearer ${token}` }, body: "{not json" });
    expect(junk.status).toBe(400);
    const unknownOp = await fetch("http://sluice/v1/users", { unix: socket, method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ op: "drop-all" }) });
    expect(((await unknownOp.json()) as { code: string }).code).toBe("ERR_ADMIN_OP");

    // A stale token file (e.g. left from an older run) gets a clear refusal, not a crash.
    writeFileSync(join(h.config.dataDir, "admin.token"), "stale\n");
    const stale = await runSluice(["user", "list"], { env });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("wrong or missing admin token");
  });
});
