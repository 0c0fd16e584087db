/**
 * The compiled executable, alone in an empty directory with no node_modules: it answers
 * `version`, writes its embedded examples with `init`, checks them, and serves (lmdb's native
 * addon loads from inside the binary). Builds its own copy so it always tests the current source.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, makeTempDirs, startServe } from "../support/serve-process.ts";
import { runSluice } from "../support/run-sluice.ts";
import { buildBinary } from "../support/build-binary.ts";

const work = mkdtempSync(join(tmpdir(), "sluice-binary-"));
const empty = join(work, "empty");
const binary = join(empty, "sluice");

beforeAll(async () => {
  const built = join(work, "build", "sluice");
  await buildBinary(built);
  mkdirSync(empty);
  copyFileSync(built, binary);
  rmSync(join(work, "build"), { recursive: true });
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * The build plugin points the bundler at lmdb's addon by its path in this checkout; prove the
 * binary carries it by hiding node_modules (a tmpfs over it, in a private mount namespace) and
 * opening the store.
 */
async function expectLmdbLoadsWithoutNodeModules(dataDir: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.warn("binary.test: skipping the hidden-node_modules check: mounting a tmpfs needs root");
    return;
  }
  const script = `mount -t tmpfs none ${JSON.stringify(join(REPO, "node_modules"))} && exec ${JSON.stringify(binary)} audit verify`;
  const proc = Bun.spawn(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], {
    cwd: empty,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SLUICE_CONFIG: "none", SLUICE_DATA_DIR: dataDir },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toContain("audit log intact");
}

describe("dist/sluice alone in an empty directory", () => {
  test("answers version", async () => {
    const r = await runSluice(["version", "--json"], { binary, cwd: empty });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ build: "binary" });
  });

  test("init writes the embedded examples and policy check accepts them", async () => {
    const etc = join(work, "etc");
    const init = await runSluice(["init", "--dir", etc], { binary, cwd: empty });
    expect(init.code).toBe(0);
    expect(readdirSync(join(etc, "policies")).sort()).toEqual(readdirSync(join(REPO, "policies")).filter((f) => f.endsWith(".yaml")).sort());
    const check = await runSluice(["policy", "check", join(etc, "policies")], { binary, cwd: empty });
    expect(check.stdout).toContain(": valid");
    expect(check.code).toBe(0);
  });

  test("serves /healthz from its embedded LMDB, and ignores a .env in the working directory", async () => {
    const dirs = makeTempDirs();
    // Compiled with autoloadDotenv: false: this must not redirect the data dir.
    writeFileSync(join(dirs.dir, ".env"), `SLUICE_DATA_DIR=${join(dirs.dir, "from-dotenv")}\n`);
    const s = await startServe({ binary, dirs });
    try {
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      // The authorization server and the passkey pages are in the binary too (@simplewebauthn/server
      // needs the Reflect polyfill loaded first, which only a compiled bundle gets wrong).
      const metadata = (await (await fetch(`${s.url}/.well-known/oauth-authorization-server`)).json()) as { issuer: string; code_challenge_methods_supported: string[] };
      expect(metadata.issuer).toBe(s.url.replace("127.0.0.1", "localhost"));
      expect(metadata.code_challenge_methods_supported).toEqual(["S256"]);
      const login = await fetch(`${s.url}/login`);
      expect(login.status).toBe(200);
      expect(await login.text()).toContain("Sign in with a passkey");
      expect(await s.stop()).toBe(0);
      expect(existsSync(join(dirs.dataDir, "store", "data.mdb"))).toBe(true);
      expect(existsSync(join(dirs.dir, "from-dotenv"))).toBe(false);
      await expectLmdbLoadsWithoutNodeModules(dirs.dataDir);
    } finally {
      s.cleanup();
    }
  }, 30_000);
});
