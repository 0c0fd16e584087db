/** The host CA and its leaves, checked by openssl (an independent X.509 implementation). */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/log/index.ts";
import { openHostCa } from "../../../src/proxy/index.ts";
import { openStore } from "../../../src/store/index.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-host-ca-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger({ level: "error" });

function openssl(args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(["openssl", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

describe("host CA", () => {
  test("persists across opens (key sealed), writes the public PEM, signs leaves openssl verifies for their names", async () => {
    const store = await openStore({ dataDir: join(dir, "data"), logger });
    const ca = openHostCa(store);
    const again = openHostCa(store);
    expect(again.certPem).toBe(ca.certPem);
    expect(Bun.file(ca.pemPath).size).toBeGreaterThan(0);
    ca.prepare([["api.test", "127.0.0.9", "::1"]]);
    const leaf = ca.identityFor("api.test");
    expect(ca.identityFor("127.0.0.9")).toBe(leaf);
    writeFileSync(join(dir, "ca.pem"), ca.certPem);
    writeFileSync(join(dir, "leaf.pem"), leaf.cert);
    for (const check of [["-verify_hostname", "api.test"], ["-verify_ip", "127.0.0.9"], ["-verify_ip", "::1"]]) {
      const r = openssl(["verify", "-CAfile", join(dir, "ca.pem"), "-purpose", "sslserver", ...check, join(dir, "leaf.pem")]);
      expect(r.out).toContain("OK");
    }
    expect(openssl(["verify", "-CAfile", join(dir, "ca.pem"), "-verify_hostname", "other.test", join(dir, "leaf.pem")]).code).not.toBe(0);
    const text = openssl(["x509", "-in", join(dir, "ca.pem"), "-noout", "-text"]).out;
    expect(text).toContain("CA:TRUE, pathlen:0");
    expect(text).toContain("sluice host CA");
    await store.close();
  });

  test("on-demand leaves are cached in a bounded LRU; renewal mints a new leaf", async () => {
    let now = Date.now();
    const store = await openStore({ dataDir: join(dir, "data2"), logger });
    const ca = openHostCa(store, { onDemandCapacity: 2, leafHours: 3, now: () => now });
    const a = ca.identityFor("a.test");
    ca.identityFor("b.test");
    ca.identityFor("c.test");
    expect(ca.stats().onDemand).toBe(2);
    expect(ca.identityFor("a.test")).not.toBe(a); // evicted, minted again
    const c = ca.identityFor("c.test");
    now += 2.5 * 3_600_000; // past two thirds of a 3 h leaf
    expect(ca.identityFor("c.test")).not.toBe(c);
    await store.close();
  });
});
