/**
 * sluice's own client (`sluice svid x509|jwt` backend) against the real server: fetchX509Svid,
 * writeX509Files (files and modes like `spire-agent api fetch x509 -write`), fetchJwtSvid, and
 * the errors a person at a terminal sees.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { EndpointUnreachableError, fetchJwtSvid, fetchX509Svid, writeX509Files } from "../../../src/spiffe/workload-api/index.ts";
import { identity, makeStaleSocket, NOBODY, startHarness, type Harness } from "./support/harness.ts";

const TD = "spiffe://example.org";
const SELF_UID = process.getuid!();
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const mode = (p: string) => statSync(p).mode & 0o777;

describe("fetchX509Svid + writeX509Files", () => {
  test("writes svid.0.pem (chain), svid.0.key (0600), bundle.0.pem that belong together", async () => {
    h.callers.set(SELF_UID, identity("cli"));
    const svid = await fetchX509Svid(h.socketPath);
    expect(svid.spiffeId).toBe(`${TD}/cli`);
    expect(svid.expiresAt).toBeGreaterThan(Date.now() + 3500_000);
    expect(Object.keys(svid.federatedBundlesPem)).toEqual(["spiffe://partner.test"]);

    const dir = join(h.dir, "out");
    const files = writeX509Files(dir, svid);
    expect(files).toEqual([join(dir, "svid.0.pem"), join(dir, "svid.0.key"), join(dir, "bundle.0.pem")]);
    expect(mode(join(dir, "svid.0.pem"))).toBe(0o644);
    expect(mode(join(dir, "svid.0.key"))).toBe(0o600);
    expect(mode(join(dir, "bundle.0.pem"))).toBe(0o644);

    const pem = readFileSync(join(dir, "svid.0.pem"), "utf8");
    expect(pem.startsWith("-----BEGIN CERTIFICATE-----\n")).toBe(true);
    const leaf = new X509Certificate(pem);
    expect(leaf.subjectAltName).toBe(`URI:${TD}/cli`);
    const key = createPrivateKey(readFileSync(join(dir, "svid.0.key"), "utf8"));
    expect(leaf.checkPrivateKey(key)).toBe(true);
    expect(readFileSync(join(dir, "svid.0.key"), "utf8")).toStartWith("-----BEGIN PRIVATE KEY-----\n");
    const root = new X509Certificate(readFileSync(join(dir, "bundle.0.pem"), "utf8"));
    expect(leaf.verify(root.publicKey)).toBe(true);
  });

  test("replacing files: a key file left world-readable comes back 0600, no temp files remain", async () => {
    h.callers.set(SELF_UID, identity("cli"));
    const dir = join(h.dir, "replace");
    mkdirSync(dir);
    writeFileSync(join(dir, "svid.0.key"), "old");
    chmodSync(join(dir, "svid.0.key"), 0o666);
    writeX509Files(dir, await fetchX509Svid(`unix://${h.socketPath}`));
    expect(mode(join(dir, "svid.0.key"))).toBe(0o600);
    expect(readFileSync(join(dir, "svid.0.key"), "utf8")).toContain("PRIVATE KEY");
    expect(readdirSync(dir).sort()).toEqual(["bundle.0.pem", "svid.0.key", "svid.0.pem"]);
  });

  test("as another uid in its own process, found through SPIFFE_ENDPOINT_SOCKET", async () => {
    h.callers.set(NOBODY, identity("nobody-cli"));
    const out = join(h.dir, "nobody-out");
    mkdirSync(out);
    chownSync(out, NOBODY, NOBODY);
    const proc = Bun.spawn(["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, join(import.meta.dir, "support/sluice-client.ts"), "x509", out], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", SPIFFE_ENDPOINT_SOCKET: `unix://${h.socketPath}` },
      stdout: "pipe",
    });
    const result = JSON.parse(await new Response(proc.stdout).text());
    expect(result).toMatchObject({ ok: true, source: "env", spiffeId: `${TD}/nobody-cli` });
    expect(h.callers.seen).toContainEqual({ pid: proc.pid, uid: NOBODY, gid: NOBODY });
    const key = statSync(join(out, "svid.0.key"));
    expect([key.uid, key.mode & 0o777]).toEqual([NOBODY, 0o600]);
  });
});

describe("fetchJwtSvid", () => {
  test("a JWT-SVID for the audience", async () => {
    h.callers.set(SELF_UID, identity("cli"));
    const jwt = await fetchJwtSvid(h.socketPath, "https://api.example.com");
    expect(jwt.spiffeId).toBe(`${TD}/cli`);
    expect(decodeJwt(jwt.token)).toMatchObject({ sub: `${TD}/cli`, aud: "https://api.example.com" }); // one audience: a string (RFC 7519 §4.1.3)
    expect(jwt.expiresAt).toBeGreaterThan(Date.now());
  });

  test("an empty audience is a caller mistake", async () => {
    await expect(fetchJwtSvid(h.socketPath, [])).rejects.toThrow(TypeError);
  });
});

describe("errors a person can act on", () => {
  test("PermissionDenied: this process matches no WorkloadIdentity", async () => {
    h.callers.set(SELF_UID, undefined);
    const err = await fetchX509Svid(h.socketPath).catch((e) => e);
    expect(err.code).toBe("ERR_GRPC_PERMISSION_DENIED");
    expect(err.message).toContain("matches no WorkloadIdentity");
    expect(err.message).toContain(`pid ${process.pid}`);
    const jwtErr = await fetchJwtSvid(h.socketPath, "a").catch((e) => e);
    expect(jwtErr.code).toBe("ERR_GRPC_PERMISSION_DENIED");
  });

  test("no socket: is sluice serve running?", async () => {
    const err = await fetchX509Svid(join(h.dir, "missing.sock")).catch((e) => e);
    expect(err).toBeInstanceOf(EndpointUnreachableError);
    expect(err.message).toContain('is "sluice serve" running?');
  });

  test("a stale socket nobody serves: is sluice serve running?", async () => {
    const stale = await makeStaleSocket(join(h.dir, "stale.sock"));
    const err = await fetchX509Svid(stale).catch((e) => e);
    expect(err).toBeInstanceOf(EndpointUnreachableError);
    expect(err.message).toContain("nothing is serving the Workload API");
  });

  test("a path that is not a socket", async () => {
    const file = join(h.dir, "plain-file");
    writeFileSync(file, "");
    const err = await fetchX509Svid(file).catch((e) => e);
    expect(err.message).toContain("is not a socket");
  });

  test("a tcp:// endpoint is refused: sluice serves unix sockets only", async () => {
    const err = await fetchX509Svid("tcp://127.0.0.1:8081").catch((e) => e);
    expect(err.code).toBe("ERR_CONFIG");
  });
});
