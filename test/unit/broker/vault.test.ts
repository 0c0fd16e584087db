import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentialsDb, listVault, Vault } from "../../../src/broker/index.ts";
import { openStore } from "../../../src/store/index.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-vault-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cred = (access: string) => ({ accessToken: access, refreshToken: "r-" + access, expiresAt: 5000, tokenEndpoint: "https://as/token", client: { clientId: "c", authMethod: "none" as const }, obtainedAt: 1 });

describe("Vault", () => {
  test("round trip, failed state, removal, and a reopened store reads what was committed", async () => {
    const store = await openStore({ dataDir: join(dir, "a") });
    const vault = new Vault(store, () => 42);
    await vault.put("src", "spiffe://td/user/a", cred("tok-a"));
    expect(vault.get("src", "spiffe://td/user/a")).toMatchObject({ state: "active", expiresAt: 5000, hasRefreshToken: true, credential: { accessToken: "tok-a" } });
    await vault.markFailed("src", "spiffe://td/user/a", "invalid_grant");
    expect(vault.get("src", "spiffe://td/user/a")).toMatchObject({ state: "failed", failure: "invalid_grant", credential: { accessToken: "tok-a" } });
    await vault.put("src", "", cred("tok-b"));
    await store.close();

    const again = await openStore({ dataDir: join(dir, "a") });
    const v2 = new Vault(again);
    expect(v2.get("src", "spiffe://td/user/a")?.state).toBe("failed");
    expect(v2.get("src", "")?.credential.accessToken).toBe("tok-b");
    expect(listVault(again).map((e) => [e.source, e.user])).toEqual([["src", ""], ["src", "spiffe://td/user/a"]]);
    await v2.remove("src", "");
    expect(v2.get("src", "")).toBeUndefined();
    await again.close();
  });

  test("a sealed value copied under another key does not open (AAD = the key)", async () => {
    const store = await openStore({ dataDir: join(dir, "b") });
    const vault = new Vault(store);
    await vault.put("src", "spiffe://td/user/a", cred("tok-a"));
    const db = store.db(credentialsDb);
    const stolen = db.get(["src", "spiffe://td/user/a"])!;
    await db.put(["src", "spiffe://td/user/mallory"], stolen);
    expect(() => new Vault(store).get("src", "spiffe://td/user/mallory")).toThrow("cannot open sealed value");
    await store.close();
  });

  test("the write is visible to the next read before LMDB commits it", async () => {
    const store = await openStore({ dataDir: join(dir, "c") });
    const vault = new Vault(store);
    const committed = vault.put("s", "u", cred("first"));
    void vault.put("s", "u", cred("second"));
    expect(vault.get("s", "u")?.credential.accessToken).toBe("second");
    await committed;
    await store.close();
  });
});
