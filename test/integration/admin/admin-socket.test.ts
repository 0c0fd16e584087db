/**
 * Serve's admin channel against a real `sluice serve` process: `sluice client rm` and
 * `sluice credentials revoke` through the admin socket while serve holds the store, then straight
 * on the store once it has stopped; and the socket's own rules (token, file modes, unknown areas
 * and operations, another account refused by the socket's mode).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { Vault } from "../../../src/broker/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { runSluice } from "../../support/run-sluice.ts";
import { makeTempDirs, startServe, type ServeProcess } from "../../support/serve-process.ts";

// Each CLI command is a fresh process (~0.3–1 s on a busy 2-core box).
setDefaultTimeout(60_000);

const ALICE = "spiffe://example.org/user/alice";
const BOB = "spiffe://example.org/user/bob";
const dirs = makeTempDirs("sluice-admin-");
const env = { SLUICE_DATA_DIR: dirs.dataDir };
let serve: ServeProcess | undefined;
let clientA = "";
let clientB = "";

async function seedCredentials(): Promise<void> {
  const store = await openStore({ dataDir: dirs.dataDir });
  try {
    const vault = new Vault(store);
    const credential = { accessToken: "at-not-real", tokenEndpoint: "https://upstream.example/token", client: { clientId: "c", authMethod: "none" as const }, obtainedAt: Date.now() };
    for (const [source, user] of [["github", ALICE], ["github", BOB], ["linear", ALICE]] as const) await vault.put(source, user, credential);
    await store.flushed();
  } finally {
    await store.close();
  }
}

async function register(name: string): Promise<string> {
  const r = await fetch(`${serve!.url}/oauth2/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: ["http://127.0.0.1:9/cb"], token_endpoint_auth_method: "none", grant_types: ["authorization_code"], response_types: ["code"], client_name: name }),
  });
  expect(r.status).toBe(201);
  return ((await r.json()) as { client_id: string }).client_id;
}

const clientIds = async () => (JSON.parse((await runSluice(["client", "list", "--json"], { env })).stdout) as { client_id: string }[]).map((c) => c.client_id).sort();
const credentials = async () => (JSON.parse((await runSluice(["credentials", "list", "--json"], { env })).stdout) as { source: string; user: string }[]).map((c) => `${c.source} ${c.user}`).sort();
const adminPost = async (path: string, body: string, token: string) => {
  const r = await fetch(`http://sluice${path}`, { unix: join(dirs.dataDir, "admin.sock"), method: "POST", headers: { authorization: `Bearer ${token}` }, body });
  return { status: r.status, body: (await r.json()) as { ok: boolean; code?: string; message?: string } };
};

beforeAll(async () => {
  await seedCredentials();
  serve = await startServe({ dirs, env: { SLUICE_TRUST_DOMAIN: "example.org", SLUICE_LOG_LEVEL: "info" } });
  clientA = await register("agent a");
  clientB = await register("agent b");
});

afterAll(async () => {
  if (serve) {
    await serve.stop();
    serve.cleanup();
  }
});

describe("while sluice serve runs (through its admin socket)", () => {
  test("sluice client rm removes the client inside serve", async () => {
    expect(await clientIds()).toEqual([clientA, clientB].sort());
    const rm = await runSluice(["client", "rm", clientA, "--json"], { env });
    expect(rm.stderr).toBe("");
    expect(rm.code).toBe(0);
    expect(JSON.parse(rm.stdout)).toEqual({ removed: clientA });
    expect(await clientIds()).toEqual([clientB]);
    // serve no longer knows it: an authorization request with it is refused, the other client's is not.
    const authorize = (id: string) => fetch(`${serve!.url}/oauth2/authorize?response_type=code&client_id=${id}&redirect_uri=${encodeURIComponent("http://127.0.0.1:9/cb")}&code_challenge=${"a".repeat(43)}&code_challenge_method=S256`, { redirect: "manual" });
    const [gone, kept] = await Promise.all([authorize(clientA), authorize(clientB)]);
    expect(gone.status).toBe(400);
    expect(kept.status).not.toBe(400);

    const again = await runSluice(["client", "rm", clientA], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no client "${clientA}"`);
  });

  test("sluice credentials revoke runs in serve's broker", async () => {
    const one = await runSluice(["credentials", "revoke", "github", "--user", ALICE, "--json"], { env });
    expect(one.stderr).toBe("");
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual([{ source: "github", user: ALICE, upstreamRevoked: false }]);
    expect(await credentials()).toEqual([`github ${BOB}`, `linear ${ALICE}`]);
    const audit = (await runSluice(["audit", "tail", "-n", "50", "--json"], { env })).stdout;
    expect(audit).toContain('"broker.credential_revoked"');

    const none = await runSluice(["credentials", "revoke", "github", "--user", ALICE], { env });
    expect(none.code).toBe(1);
    expect(none.stdout).toContain("no stored credential of source github");
    const badUser = await runSluice(["credentials", "revoke", "github", "--user", "alice"], { env });
    expect(badUser.code).toBe(2);
  });

  test("socket and token are 0600; wrong token, unknown area and unknown operation are refused", async () => {
    const socket = join(dirs.dataDir, "admin.sock");
    const tokenFile = join(dirs.dataDir, "admin.token");
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = (await Bun.file(tokenFile).text()).trim();

    const wrong = await adminPost("/v1/clients", JSON.stringify({ op: "rm", clientId: clientB }), "not-the-token");
    expect(wrong).toMatchObject({ status: 401, body: { ok: false, code: "ERR_ADMIN_AUTH" } });
    const missing = await fetch("http://sluice/v1/clients", { unix: socket, method: "POST", body: "{}" });
    expect(missing.status).toBe(401);
    expect(await clientIds()).toEqual([clientB]);

    const area = await adminPost("/v1/nope", "{}", token);
    expect(area).toMatchObject({ status: 404, body: { code: "ERR_ADMIN_OP" } });
    for (const path of ["/v1/clients", "/v1/credentials", "/v1/users"]) {
      const op = await adminPost(path, JSON.stringify({ op: "drop-all" }), token);
      expect(op).toMatchObject({ status: 400, body: { code: "ERR_ADMIN_OP" } });
    }
    const bad = await adminPost("/v1/credentials", JSON.stringify({ op: "revoke", source: "github", user: "not a spiffe id" }), token);
    expect(bad).toMatchObject({ status: 400, body: { code: "ERR_ADMIN_REQUEST" } });
    const junk = await adminPost("/v1/clients", "{not json", token);
    expect(junk).toMatchObject({ status: 400, body: { code: "ERR_ADMIN_REQUEST" } });

    // Another account, even with the data dir made traversable, is stopped by the socket's own mode.
    const mode = statSync(dirs.dataDir).mode & 0o777;
    chmodSync(dirs.dataDir, 0o711);
    try {
      const asNobody = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "curl", "-sS", "--unix-socket", socket, "-X", "POST", "-H", `authorization: Bearer ${token}`, "-d", JSON.stringify({ op: "rm", clientId: clientB }), "http://sluice/v1/clients"]);
      expect(asNobody.exitCode).not.toBe(0);
      expect(asNobody.stderr.toString()).toMatch(/Permission denied|Couldn't connect/);
    } finally {
      chmodSync(dirs.dataDir, mode);
    }
    expect(await clientIds()).toEqual([clientB]);
  });
});

describe("once sluice serve has stopped (straight on the store)", () => {
  test("the socket and token are gone; client rm and credentials revoke open the store", async () => {
    expect(await serve!.stop()).toBe(0);
    expect(existsSync(join(dirs.dataDir, "admin.sock"))).toBe(false);
    expect(existsSync(join(dirs.dataDir, "admin.token"))).toBe(false);

    const rm = await runSluice(["client", "rm", clientB], { env });
    expect(rm.stderr).toBe("");
    expect(rm.code).toBe(0);
    expect(rm.stdout).toBe(`removed client ${clientB}\n`);
    expect(await clientIds()).toEqual([]);
    const again = await runSluice(["client", "rm", clientB], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("no client");

    const all = await runSluice(["credentials", "revoke", "github", "--json"], { env });
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual([{ source: "github", user: BOB, upstreamRevoked: false }]);
    expect(await credentials()).toEqual([`linear ${ALICE}`]);
  });
});
