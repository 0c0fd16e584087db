import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openStore, type Store } from "../../../src/store/index.ts";
import { tempRoot, thrown } from "./helpers.ts";

const tmp = tempRoot();
const other = tempRoot();
let store: Store;
let otherStore: Store;

beforeAll(async () => {
  store = await openStore({ dataDir: tmp.dataDir });
  otherStore = await openStore({ dataDir: other.dataDir });
});
afterAll(async () => {
  await store.close();
  await otherStore.close();
  tmp.cleanup();
  other.cleanup();
});

const AAD = "upstream-tokens/alice:cloudflare-mcp";

function flip(envelope: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(envelope);
  copy[index]! ^= 0x01;
  return copy;
}

describe("sealer (AES-256-GCM, per-purpose subkeys, location-bound)", () => {
  test("round trip of strings and bytes; envelope = version ‖ 12-byte nonce ‖ ciphertext ‖ 16-byte tag", () => {
    const sealer = store.sealer("broker-tokens");
    const envelope = sealer.seal("gho_secret_token", AAD);
    expect(envelope[0]).toBe(1);
    expect(envelope.length).toBe(1 + 12 + "gho_secret_token".length + 16);
    expect(sealer.openString(envelope, AAD)).toBe("gho_secret_token");

    const bytes = crypto.getRandomValues(new Uint8Array(1000));
    expect(Buffer.from(sealer.open(sealer.seal(bytes, AAD), AAD)).equals(Buffer.from(bytes))).toBe(true);
    expect(sealer.open(sealer.seal(new Uint8Array(0), AAD), AAD).length).toBe(0);
    expect(sealer.openString(sealer.seal("héllo ✓", AAD), AAD)).toBe("héllo ✓");
  });

  test("the same plaintext seals differently every time (random nonce) and never appears in the envelope", () => {
    const sealer = store.sealer("broker-tokens");
    const a = sealer.seal("same-secret-value", AAD);
    const b = sealer.seal("same-secret-value", AAD);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(Buffer.from(a.subarray(1, 13)).equals(Buffer.from(b.subarray(1, 13)))).toBe(false);
    expect(Buffer.from(a).includes("same-secret-value")).toBe(false);
  });

  test("flipping any bit of version, nonce, ciphertext or tag is detected", () => {
    const sealer = store.sealer("broker-tokens");
    const envelope = sealer.seal("gho_secret_token", AAD);
    const positions = { version: 0, nonce: 5, ciphertext: 13 + 3, tag: envelope.length - 1 };
    for (const [part, index] of Object.entries(positions)) {
      const err = thrown(() => sealer.open(flip(envelope, index), AAD));
      expect(err.code, part).toBe("ERR_DECRYPT");
    }
  });

  test("wrong aad (value moved to another record) fails", () => {
    const sealer = store.sealer("broker-tokens");
    const envelope = sealer.seal("gho_secret_token", AAD);
    const err = thrown(() => sealer.open(envelope, "upstream-tokens/mallory:cloudflare-mcp"));
    expect(err.code).toBe("ERR_DECRYPT");
    expect(err.message).not.toContain("gho_secret_token");
  });

  test("truncated or empty envelopes fail cleanly", () => {
    const sealer = store.sealer("broker-tokens");
    const envelope = sealer.seal("gho_secret_token", AAD);
    for (const length of [0, 1, 12, 28, envelope.length - 1]) {
      expect(thrown(() => sealer.open(envelope.subarray(0, length), AAD)).code).toBe("ERR_DECRYPT");
    }
    expect(thrown(() => sealer.open(Buffer.concat([envelope, Buffer.from([0])]), AAD)).code).toBe("ERR_DECRYPT");
  });

  test("another purpose's subkey or another store's master key cannot open it", () => {
    const envelope = store.sealer("broker-tokens").seal("gho_secret_token", AAD);
    expect(thrown(() => store.sealer("client-secrets").open(envelope, AAD)).code).toBe("ERR_DECRYPT");
    expect(thrown(() => otherStore.sealer("broker-tokens").open(envelope, AAD)).code).toBe("ERR_DECRYPT");
  });

  test("caller mistakes are TypeErrors", () => {
    const sealer = store.sealer("broker-tokens");
    expect(() => sealer.seal("x", "")).toThrow(TypeError);
    expect(() => sealer.open("not bytes" as unknown as Uint8Array, AAD)).toThrow(TypeError);
    expect(() => store.sealer("Bad Purpose!")).toThrow(TypeError);
  });

  test("a sealed value survives a round trip through LMDB", async () => {
    const { defineDatabase } = await import("../../../src/store/index.ts");
    const tokens = store.db(defineDatabase<string, Uint8Array>({ name: "sealed-test", encoding: "binary" }));
    const sealer = store.sealer("broker-tokens");
    await tokens.put("alice", sealer.seal("gho_secret_token", "sealed-test/alice"));
    expect(sealer.openString(tokens.get("alice")!, "sealed-test/alice")).toBe("gho_secret_token");
  });
});
