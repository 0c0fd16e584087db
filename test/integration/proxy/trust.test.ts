/**
 * `sluice trust install|uninstall|print` through the real CLI, against a temp filesystem root
 * (`--root`): the real update-ca-certificates runs with every directory pointed inside it (its
 * --certsconf/--certsdir/--localcertsdir/--etccertsdir/--hooksdir), never at the system store.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestCa } from "../../support/test-ca.ts";

const main = join(import.meta.dir, "../../../src/main.ts");
const hasUpdate = existsSync("/usr/sbin/update-ca-certificates");
const otherCa = createTestCa("a distribution root");
let dir = "";
let root = "";
let cfg = "";

async function sluice(...args: string[]) {
  const p = Bun.spawn([process.execPath, main, ...args, "--config", cfg], { stdout: "pipe", stderr: "pipe", env: { ...process.env, SLUICE_CONFIG: undefined } });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out, err };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-trust-"));
  root = join(dir, "root");
  for (const d of ["etc/ssl/certs", "usr/share/ca-certificates", "usr/local/share/ca-certificates", "etc/ca-certificates/update.d"]) mkdirSync(join(root, d), { recursive: true });
  // One "distribution" root, as on a real system (update-ca-certificates rewrites the bundle only
  // when it holds at least one certificate).
  mkdirSync(join(root, "usr/share/ca-certificates/test"), { recursive: true });
  writeFileSync(join(root, "usr/share/ca-certificates/test/other-root.crt"), otherCa.certPem);
  writeFileSync(join(root, "etc/ca-certificates.conf"), "test/other-root.crt\n");
  cfg = join(dir, "sluice.yaml");
  writeFileSync(cfg, `dataDir: ${join(dir, "data")}\ntrustDomain: trust.test\n`);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  otherCa.cleanup();
});

describe("sluice trust", () => {
  test("print creates the host CA when serve never ran, and prints the env lines", async () => {
    const r = await sluice("trust", "print", "--root", root);
    expect(r.code).toBe(0);
    expect(r.out).toStartWith("-----BEGIN CERTIFICATE-----");
    expect(r.out).toContain(`NODE_EXTRA_CA_CERTS=${join(dir, "data", "host-ca.pem")}`);
    for (const v of ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]) expect(r.out).toContain(`${v}=${join(root, "etc/ssl/certs/ca-certificates.crt")}`);
    expect(readFileSync(join(dir, "data", "host-ca.pem"), "utf8")).toBe(r.out.slice(0, r.out.indexOf("-----END CERTIFICATE-----") + 26));
  });

  test.skipIf(!hasUpdate)("install runs update-ca-certificates into the temp root; a second install changes nothing; uninstall removes it", async () => {
    const pem = readFileSync(join(dir, "data", "host-ca.pem"), "utf8");
    const body = pem.split("\n").slice(1, 3).join("\n");
    const i = await sluice("trust", "install", "--root", root, "--json");
    expect(i.err).toBe("");
    expect(JSON.parse(i.out)).toMatchObject({ changed: true });
    expect(readFileSync(join(root, "usr/local/share/ca-certificates/sluice-host-ca.crt"), "utf8")).toBe(pem);
    expect(readFileSync(join(root, "etc/ssl/certs/ca-certificates.crt"), "utf8")).toContain(body);
    const again = await sluice("trust", "install", "--root", root);
    expect(again.out).toStartWith("already trusted");
    const u = await sluice("trust", "uninstall", "--root", root);
    expect(u.code).toBe(0);
    expect(existsSync(join(root, "usr/local/share/ca-certificates/sluice-host-ca.crt"))).toBe(false);
    const bundle = readFileSync(join(root, "etc/ssl/certs/ca-certificates.crt"), "utf8");
    expect(bundle).not.toContain(body);
    expect(bundle).toContain(otherCa.certPem.split("\n")[1]!);
  });
});
