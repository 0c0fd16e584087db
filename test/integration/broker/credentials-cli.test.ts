/**
 * `sluice credentials list|revoke` as a process over a real store: list never prints token values
 * and works read-only next to a lock holder; revoke works offline and says clearly what to do when
 * something holds the store without serve's admin socket (through a real serve:
 * test/integration/admin/admin-socket.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listVault, Vault } from "../../../src/broker/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { runSluice } from "../../support/run-sluice.ts";

const ACCESS = "upstream-access-token-3b1f0c9e";
const REFRESH = "upstream-refresh-token-9d2a7e44";
let root: string;
let env: Record<string, string>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "sluice-cred-cli-"));
  const dataDir = join(root, "data");
  env = { SLUICE_DATA_DIR: dataDir, SLUICE_AUDIT_FILE: join(root, "audit.jsonl") };
  const store = await openStore({ dataDir });
  const vault = new Vault(store);
  const client = { clientId: "c1", authMethod: "none" as const };
  await vault.put("mcp", "spiffe://example.org/user/alice", { accessToken: ACCESS, refreshToken: REFRESH, expiresAt: Date.now() + 3_600_000, tokenEndpoint: "https://as.invalid/token", client, obtainedAt: Date.now() });
  await vault.put("mcp", "spiffe://example.org/user/bob", { accessToken: ACCESS + "b", tokenEndpoint: "https://as.invalid/token", client, obtainedAt: Date.now() });
  await vault.markFailed("mcp", "spiffe://example.org/user/bob", "upstream refused the refresh: invalid_grant");
  await store.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("sluice credentials", () => {
  test("list --json shows source, user, state, expiry; never a token", async () => {
    const r = await runSluice(["credentials", "list", "--json"], { env });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { source: string; user: string; state: string; expiresAt: string | null; failure?: string }[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ source: "mcp", user: "spiffe://example.org/user/alice", state: "active" });
    expect(rows[0]!.expiresAt).toMatch(/^\d{4}-/);
    expect(rows[1]).toMatchObject({ state: "failed" });
    expect(rows[1]!.failure).toContain("invalid_grant");
    expect(r.stdout).not.toContain(ACCESS);
    expect(r.stdout).not.toContain(REFRESH);
  });

  test("list works while another process holds the store (read-only)", async () => {
    const holder = await openStore({ dataDir: env.SLUICE_DATA_DIR! });
    try {
      const r = await runSluice(["credentials", "list"], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("spiffe://example.org/user/alice");
      expect(r.stdout).toContain("failed: upstream refused");
      expect(r.stdout).not.toContain(ACCESS);
      const revoke = await runSluice(["credentials", "revoke", "mcp"], { env });
      expect(revoke.code).toBe(1);
      // A lock holder without an admin socket (not a real serve: test/integration/admin/ has one).
      expect(revoke.stderr).toContain("has no admin socket");
    } finally {
      await holder.close();
    }
  });

  test("revoke --user with a bad SPIFFE ID is a usage error", async () => {
    const r = await runSluice(["credentials", "revoke", "mcp", "--user", "alice"], { env });
    expect(r.code).toBe(2);
  });

  test("revoke SOURCE --user deletes that credential only (offline)", async () => {
    const r = await runSluice(["credentials", "revoke", "mcp", "--user", "spiffe://example.org/user/bob", "--json"], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ source: "mcp", user: "spiffe://example.org/user/bob", upstreamRevoked: false }]);
    const store = await openStore({ dataDir: env.SLUICE_DATA_DIR!, readOnly: true });
    try {
      expect(listVault(store).map((e) => e.user)).toEqual(["spiffe://example.org/user/alice"]);
    } finally {
      await store.close();
    }
    const again = await runSluice(["credentials", "revoke", "mcp", "--user", "spiffe://example.org/user/bob"], { env });
    expect(again.code).toBe(1);
    expect(again.stdout).toContain("no stored credential");
  });

  test("--help explains both commands", async () => {
    const r = await runSluice(["credentials", "revoke", "--help"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("RFC 7009");
  });
});
