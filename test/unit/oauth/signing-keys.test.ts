import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { silentLogger } from "../../../src/log/index.ts";
import { SigningKeys } from "../../../src/oauth/keys/signing-keys.ts";
import { clock, tempStore } from "./helpers.ts";

let t: Awaited<ReturnType<typeof tempStore>>;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(async () => {
  await t.cleanup();
});

const TTL = 1000;
const MAX_TOKEN = 100;

describe("signing keys: rotation and publication", () => {
  test("ES256 and RS256 keys; private keys sealed at rest, reloaded after a restart", async () => {
    const c = clock();
    const keys = await SigningKeys.open({ store: t.store, logger: silentLogger, keyTtlSeconds: TTL, maxTokenTtlSeconds: MAX_TOKEN, now: c.now });
    const es = keys.current("ES256");
    expect(keys.current("RS256").alg).toBe("RS256");
    expect(keys.jwks().keys.map((k) => k.alg).sort()).toEqual(["ES256", "RS256"]);
    for (const k of keys.jwks().keys) expect(k.d).toBeUndefined();
    // What is stored is sealed: no PKCS#8 DER header in the record.
    const stored = t.store.db((await import("../../../src/oauth/keys/signing-keys.ts")).signingKeysDb).get(es.kid)!;
    const der = es.privateKey.export({ format: "der", type: "pkcs8" });
    expect(Buffer.from(stored.sealed).includes(der.subarray(0, 24))).toBe(false);
    const again = await SigningKeys.open({ store: t.store, logger: silentLogger, keyTtlSeconds: TTL, maxTokenTtlSeconds: MAX_TOKEN, now: c.now });
    expect(again.current("ES256").kid).toBe(es.kid);
  });

  test("a successor is published before it signs; the old key stays until its tokens expired", async () => {
    const c = clock();
    const keys = await SigningKeys.open({ store: t.store, logger: silentLogger, keyTtlSeconds: TTL, maxTokenTtlSeconds: MAX_TOKEN, now: c.now });
    const first = keys.current("ES256").kid;
    c.advance(TTL - 50); // within the last tenth of its life
    expect(await keys.tick()).toBe(true);
    const kids = keys.jwks().keys.filter((k) => k.alg === "ES256").map((k) => k.kid);
    expect(kids.length).toBe(2);
    expect(keys.current("ES256").kid).toBe(first); // the successor is published, not yet signing
    c.advance(50);
    await keys.tick();
    const second = keys.current("ES256").kid;
    expect(second).not.toBe(first);
    expect(keys.byKid(first)).toBeDefined(); // tokens it signed may still be alive
    c.advance(MAX_TOKEN);
    await keys.tick();
    expect(keys.byKid(first)).toBeUndefined();
    expect(keys.jwks().keys.some((k) => k.kid === first)).toBe(false);
  });
});
