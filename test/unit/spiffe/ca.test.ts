/** The trust domain's CA: first start, restart, sealed keys, refusal to regenerate, rotation with overlap. */
import { afterEach, describe, expect, test } from "bun:test";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { caKeysDb } from "../../../src/spiffe/ca/key-store.ts";
import { openStore } from "../../../src/store/index.ts";
import { CaError, parseCertificate, readPublishedBundle, verifyJwtSvid, verifyX509Svid, type TrustBundle } from "../../../src/spiffe/index.ts";
import { clock, DAY, openCaFixture, TD, type CaFixture } from "./helpers.ts";

const ID = `spiffe://${TD}/claude`;
const AUD = "reports";
let f: CaFixture | undefined;
afterEach(async () => {
  await f?.cleanup();
  f = undefined;
});

const rootIds = (b: TrustBundle) => b.x509Authorities.map((d) => Buffer.from(parseCertificate(d).subjectKeyId!).toString("hex"));
const issuerOf = (der: Uint8Array) => Buffer.from(parseCertificate(der).authorityKeyId!).toString("hex");

describe("first start and restart", () => {
  test("first start creates one root and one JWT key, both audited; the bundle has sequence 1", async () => {
    f = await openCaFixture({}, { withAudit: true });
    const b = f.ca.bundle();
    expect(b).toMatchObject({ trustDomain: TD, sequence: 1 });
    expect(b.x509Authorities.length).toBe(1);
    expect(b.jwtAuthorities.length).toBe(1);
    await f.audit!.flush();
    const kinds = f.audit!.tail(10).map((r) => [r.kind, r.details?.reason]);
    expect(kinds).toEqual([
      ["spiffe.x509-authority.create", "initial"],
      ["spiffe.jwt-authority.create", "initial"],
    ]);
    expect(f.ca.authorities().map((a) => [a.kind, a.state])).toEqual([["x509", "active"], ["jwt", "active"]]);
  });

  test("a restart reloads the same keys: same root, same kid, same sequence, old SVIDs still verify", async () => {
    f = await openCaFixture({}, { withAudit: true });
    const before = f.ca.bundle();
    const svid = f.ca.issueX509Svid({ spiffeId: ID });
    const jwt = f.ca.issueJwtSvid({ spiffeId: ID, audience: AUD });
    const ca = await f.reopen();
    const after = ca.bundle();
    expect(after.x509Authorities.map((d) => Buffer.from(d))).toEqual(before.x509Authorities.map((d) => Buffer.from(d)));
    expect(after.jwtAuthorities).toEqual(before.jwtAuthorities);
    expect(after.sequence).toBe(before.sequence);
    expect(verifyX509Svid(svid.certChain, ca.bundles).spiffeId).toBe(ID);
    expect(verifyJwtSvid(jwt.token, ca.bundles, { audience: AUD }).spiffeId).toBe(ID);
    // A new SVID after the restart is signed by the same root.
    expect(issuerOf(ca.issueX509Svid({ spiffeId: ID }).certChain[0]!)).toBe(rootIds(after)[0]!);
    expect(f.audit!.tail(10).filter((r) => r.kind.endsWith(".create")).length).toBe(2);
  });

  test("the private keys are sealed at rest: neither PKCS#8 DER, raw scalar nor PEM appears in the LMDB file", async () => {
    f = await openCaFixture();
    const sealer = f.store.sealer("spiffe-ca");
    const secrets: Buffer[] = [];
    for (const { value } of f.store.db(caKeysDb).getRange()) {
      const pkcs8 = Buffer.from(sealer.open(value.sealedKey, `spiffe-ca/${TD}/${value.kind}/${value.id}`));
      const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
      const d = Buffer.from(key.export({ format: "jwk" }).d!, "base64url");
      secrets.push(pkcs8, d, Buffer.from(key.export({ type: "pkcs8", format: "pem" }).toString().split("\n")[1]!));
    }
    expect(secrets.length).toBe(6);
    await f.close();
    const file = readFileSync(join(f.dataDir, "store", "data.mdb"));
    for (const secret of secrets) expect(file.indexOf(secret)).toBe(-1);
    // The public certificate is stored in the clear (sanity check that the search works).
    expect(file.indexOf(Buffer.from(f.ca.bundle().x509Authorities[0]!))).toBeGreaterThan(-1);
  });

  test("a stored key that fails to decrypt is an error, never a silent new CA", async () => {
    f = await openCaFixture();
    const root = Buffer.from(f.ca.bundle().x509Authorities[0]!);
    const db = f.store.db(caKeysDb);
    for (const { key, value } of [...db.getRange()]) {
      if (value.kind !== "x509") continue;
      const tampered = new Uint8Array(value.sealedKey);
      tampered[20]! ^= 0xff;
      db.putSync(key, { ...value, sealedKey: tampered });
    }
    const err = await f.reopen().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaError);
    expect((err as CaError).code).toBe("ERR_CA_KEY_UNREADABLE");
    expect((err as CaError).message).toContain("will not silently create a new CA");
    // Nothing was replaced: the stored root is still the old one.
    const store = await openStore({ dataDir: f.dataDir, readOnly: true });
    const certs = [...store.db(caKeysDb).getRange()].filter((e) => e.value.kind === "x509").map((e) => Buffer.from(e.value.cert!));
    expect(certs).toEqual([root]);
    await store.close();
  });

  test("a store that recorded a CA but lost its keys refuses to start", async () => {
    f = await openCaFixture();
    const db = f.store.db(caKeysDb);
    for (const key of [...db.keys()]) db.removeSync(key);
    const err = await f.reopen().catch((e: unknown) => e);
    expect((err as CaError).code).toBe("ERR_CA_STATE");
  });

  test("the published bundle can be read from a read-only store, without the keys (sluice bundle show)", async () => {
    f = await openCaFixture();
    f.ca.rotateNow();
    const live = f.ca.bundle();
    await f.close();
    const store = await openStore({ dataDir: f.dataDir, readOnly: true });
    try {
      const read = readPublishedBundle(store, TD)!;
      expect(read.sequence).toBe(live.sequence);
      expect(read.x509Authorities.map((d) => Buffer.from(d))).toEqual(live.x509Authorities.map((d) => Buffer.from(d)));
      expect(read.jwtAuthorities).toEqual(live.jwtAuthorities);
      expect(read.refreshHint).toBe(live.refreshHint!);
      expect(readPublishedBundle(store, "other.org")).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  test("options are checked", async () => {
    await expect(openCaFixture({ caTTLSeconds: 3600, overlapSeconds: 3600 })).rejects.toThrow(TypeError);
    await expect(openCaFixture({ trustDomain: "Example.org" })).rejects.toThrow(TypeError);
  });
});

describe("rotation with overlap (Trust Domain and Bundle §3, Appendix A)", () => {
  // TTL 30 days, overlap 5 days (TTL/6), prepare 2.5 days (overlap/2).
  test("prepare → publish both → activate → the old root leaves at its expiry", async () => {
    const time = clock();
    const t0 = time.now();
    f = await openCaFixture({ now: time.now }, { withAudit: true });
    const changes: number[] = [];
    f.ca.bundles.onBundleChange((td, b) => td === TD && changes.push(b!.sequence));
    const [rootA] = rootIds(f.ca.bundle());
    const jwtA = f.ca.issueJwtSvid({ spiffeId: ID, audience: AUD, ttlSeconds: 3600 });

    time.set(t0 + 25 * DAY - 60_000);
    expect(f.ca.tick()).toBe(false);

    // At TTL − overlap: the successor is published but not used yet.
    time.set(t0 + 25 * DAY + 1000);
    expect(f.ca.tick()).toBe(true);
    const prepared = f.ca.bundle();
    expect(prepared.sequence).toBe(2);
    expect(prepared.x509Authorities.length).toBe(2);
    expect(prepared.jwtAuthorities.length).toBe(2);
    const rootB = rootIds(prepared).find((id) => id !== rootA)!;
    expect(issuerOf(f.ca.issueX509Svid({ spiffeId: ID }).certChain[0]!)).toBe(rootA!);
    expect(f.ca.authorities().filter((a) => a.kind === "x509").map((a) => a.state).sort()).toEqual(["active", "prepared"]);
    const lateA = f.ca.issueX509Svid({ spiffeId: ID, ttlSeconds: 4 * 24 * 3600 });

    // After the prepare period the successor signs; the old root stays in the bundle, which is
    // unchanged (so is its sequence).
    time.set(t0 + 27.5 * DAY + 1000);
    expect(f.ca.tick()).toBe(false);
    const active = f.ca.bundle();
    expect(active.sequence).toBe(2);
    expect(rootIds(active).sort()).toEqual([rootA!, rootB].sort());
    const svidB = f.ca.issueX509Svid({ spiffeId: ID });
    expect(issuerOf(svidB.certChain[0]!)).toBe(rootB);
    expect(verifyX509Svid(lateA.certChain, f.ca.bundles, { now: time.now() }).spiffeId).toBe(ID);
    expect(verifyX509Svid(svidB.certChain, f.ca.bundles, { now: time.now() }).spiffeId).toBe(ID);
    // JWT keys rotate the same way: a token of the old key verifies during the overlap.
    const jwtB = f.ca.issueJwtSvid({ spiffeId: ID, audience: AUD });
    expect(jwtB.token.split(".")[0]).not.toBe(jwtA.token.split(".")[0]);
    expect(verifyJwtSvid(jwtA.token, f.ca.bundles, { audience: AUD, now: t0 + 60_000 }).spiffeId).toBe(ID);
    expect(verifyJwtSvid(jwtB.token, f.ca.bundles, { audience: AUD, now: time.now() }).spiffeId).toBe(ID);
    // An SVID signed by the old root never outlives it.
    expect(lateA.expiresAt).toBeLessThanOrEqual(parseCertificate(active.x509Authorities[0]!).notAfter);

    // At the old root's expiry it leaves the bundle.
    time.set(t0 + 30 * DAY + 1000);
    expect(f.ca.tick()).toBe(true);
    const after = f.ca.bundle();
    expect(after.sequence).toBe(3);
    expect(rootIds(after)).toEqual([rootB]);
    expect(after.jwtAuthorities.length).toBe(1);
    expect(() => verifyX509Svid(lateA.certChain, f!.ca.bundles, { now: time.now() - 2000 })).toThrow(expect.objectContaining({ rule: "unknown-authority" }));
    const svidC = f.ca.issueX509Svid({ spiffeId: ID });
    expect(issuerOf(svidC.certChain[0]!)).toBe(rootB);
    expect(verifyX509Svid(svidC.certChain, f.ca.bundles, { now: time.now() }).spiffeId).toBe(ID);
    expect(() => verifyJwtSvid(jwtA.token, f!.ca.bundles, { audience: AUD, now: time.now() })).toThrow(expect.objectContaining({ rule: "kid-unknown" }));

    expect(changes).toEqual([2, 3]);
    await f.audit!.flush();
    const audit = f.audit!.tail(20).map((r) => r.kind);
    expect(audit.filter((k) => k.startsWith("spiffe.x509-authority"))).toEqual([
      "spiffe.x509-authority.create",
      "spiffe.x509-authority.create",
      "spiffe.x509-authority.activate",
      "spiffe.x509-authority.remove",
    ]);
    // The sequence survives a restart.
    expect((await f.reopen({ now: time.now })).bundle().sequence).toBe(3);
  });

  test("issuing notices a due rotation without waiting for the timer", async () => {
    const time = clock();
    f = await openCaFixture({ now: time.now });
    time.advance(25 * DAY + 1000);
    f.ca.issueX509Svid({ spiffeId: ID });
    expect(f.ca.bundle().x509Authorities.length).toBe(2);
  });

  test("rotateNow publishes successors; {immediate} makes them sign at once", async () => {
    const time = clock();
    f = await openCaFixture({ now: time.now });
    const [rootA] = rootIds(f.ca.bundle());
    f.ca.rotateNow();
    expect(f.ca.bundle().x509Authorities.length).toBe(2);
    expect(issuerOf(f.ca.issueX509Svid({ spiffeId: ID }).certChain[0]!)).toBe(rootA!);
    f.ca.rotateNow({ immediate: true });
    const ids = rootIds(f.ca.bundle());
    expect(ids.length).toBe(3);
    const signer = issuerOf(f.ca.issueX509Svid({ spiffeId: ID }).certChain[0]!);
    expect(signer).not.toBe(rootA);
    expect(ids).toContain(signer);
  });

  test("after a downtime longer than the TTL the expired keys go and a new one starts, audited", async () => {
    const time = clock();
    f = await openCaFixture({ now: time.now }, { withAudit: true });
    const [rootA] = rootIds(f.ca.bundle());
    await f.close();
    time.advance(45 * DAY);
    const ca = await f.reopen({ now: time.now });
    const ids = rootIds(ca.bundle());
    expect(ids.length).toBe(1);
    expect(ids[0]).not.toBe(rootA);
    await f.audit!.flush();
    expect(f.audit!.tail(10).map((r) => r.kind)).toContain("spiffe.x509-authority.remove");
  });
});
