import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isSecretKey, redactDetails, REDACTED, DEFAULT_LIMITS } from "../../../src/audit/index.ts";
import { openLog, tempRoot } from "./helpers.ts";

describe("redaction of audit details", () => {
  test("secret-looking keys are redacted at any depth, case and spelling", () => {
    const out = redactDetails({
      client_id: "abc",
      access_token: "at-1",
      nested: { refreshToken: "rt-1", deeper: [{ Authorization: "Bearer x" }, { password: "hunter2" }] },
      "Set-Cookie": "sid=1",
      client_secret: "cs",
      client_assertion: "eyJ...",
      code_verifier: "cv",
      apiKey: "k",
      private_key: { kty: "EC", d: "secret-d" },
      key: "k2",
      keyId: "kid-1",
      hasToken: true,
      token: null,
    });
    expect(out).toEqual({
      client_id: "abc",
      access_token: REDACTED,
      nested: { refreshToken: REDACTED, deeper: [{ Authorization: REDACTED }, { password: REDACTED }] },
      "Set-Cookie": REDACTED,
      client_secret: REDACTED,
      client_assertion: REDACTED,
      code_verifier: REDACTED,
      apiKey: REDACTED,
      private_key: REDACTED,
      key: REDACTED,
      keyId: "kid-1",
      hasToken: true,
      token: null,
    });
  });

  test("credentials are redacted by their shape under any key, including inside URLs", () => {
    const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzcGlmZmU6Ly9hIn0.c2lnbmF0dXJl";
    const out = redactDetails({
      header: "Bearer abc.def",
      basic: "Basic dXNlcjpwYXNz",
      jwt,
      pem: "-----BEGIN EC PRIVATE KEY-----\nMHc...\n-----END EC PRIVATE KEY-----",
      callback: "https://sluice.local/oauth2/upstream/callback?code=SPLXlOBeZQQYbYS6WxSbIA&state=xyz",
      dsn: "postgres://app:s3cr3t@db:5432/app",
      upstream: "https://user:pw@api.example.com/v1?access_token=abc&page=2",
      fragment: "https://app.example/cb#access_token=abc&token_type=bearer",
      plain: "https://mcp.cloudflare.com/sse",
    });
    expect(out.header).toBe(REDACTED);
    expect(out.basic).toBe(REDACTED);
    expect(out.jwt).toBe(REDACTED);
    expect(out.pem).toBe(REDACTED);
    expect(out.callback).toBe("https://sluice.local/oauth2/upstream/callback?code=%5Bredacted%5D&state=xyz");
    expect(out.dsn).toBe(REDACTED);
    expect(out.upstream).toBe("https://user:%5Bredacted%5D@api.example.com/v1?access_token=%5Bredacted%5D&page=2");
    expect(out.fragment).toBe("https://app.example/cb#[redacted]");
    expect(out.plain).toBe("https://mcp.cloudflare.com/sse");
  });

  test("sizes are capped: string length, depth, array length, key count, total bytes", () => {
    const long = "x".repeat(5000);
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 10; i++) deep = { d: deep };
    const out = redactDetails({ long, deep, list: Array.from({ length: 100 }, (_, i) => i), wide: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i])) });
    expect((out.long as string).length).toBeLessThan(DEFAULT_LIMITS.maxStringLength + 30);
    expect(out.long as string).toEndWith("…[+3976 chars]");
    expect(JSON.stringify(out.deep)).toContain('"[too deep]"');
    expect((out.list as unknown[]).length).toBe(DEFAULT_LIMITS.maxArrayItems + 1);
    expect((out.list as unknown[]).at(-1)).toBe("[+36 more]");
    expect(Object.keys(out.wide as object).length).toBe(DEFAULT_LIMITS.maxKeys + 1);

    const huge = redactDetails(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`field${i}`, "y".repeat(1000)])));
    expect(huge.truncated).toBe(true);
    expect(JSON.stringify(huge).length).toBeLessThan(DEFAULT_LIMITS.maxBytes);
  });

  test("hostile inputs: cycles, huge fan-out, odd types, never throw and stay bounded", () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const fan: Record<string, unknown> = {};
    for (let i = 0; i < 64; i++) fan[`k${i}`] = fan;
    const started = performance.now();
    const out = redactDetails({
      cyclic,
      fan,
      big: 10n ** 30n,
      nan: Number.NaN,
      when: new Date(0),
      bytes: new Uint8Array([1, 2, 3]),
      fn: () => 1,
      undef: undefined,
      err: Object.assign(new Error("connect EPERM"), { code: "EPERM" }),
      map: new Map([["a", 1]]),
      url: new URL("https://x.example/?token=t"),
    });
    expect(performance.now() - started).toBeLessThan(500);
    expect(out.cyclic).toEqual({ name: "loop", self: "[circular]" });
    expect(out.big).toBe("1000000000000000000000000000000");
    expect(out.nan).toBe("NaN");
    expect(out.when).toBe("1970-01-01T00:00:00.000Z");
    expect(out.bytes).toBe("[3 bytes]");
    expect("fn" in out || "undef" in out).toBe(false);
    expect(out.err).toEqual({ name: "Error", message: "connect EPERM", code: "EPERM" });
    expect(out.map).toEqual({ a: 1 });
    expect(out.url).toBe("https://x.example/?token=%5Bredacted%5D");
    expect(JSON.stringify(out).length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxBytes);
  });

  test("numbers under secret-looking keys are counts and stay, except exact secret names", () => {
    const out = redactDetails({ credentialSources: 2, credentialBindings: 3, tokensIssued: 12, pin: 1234, otp: 987654, password: 42 });
    expect(out).toEqual({ credentialSources: 2, credentialBindings: 3, tokensIssued: 12, pin: REDACTED, otp: REDACTED, password: REDACTED });
  });

  test("isSecretKey", () => {
    for (const k of ["token", "id_token", "X-Api-Key", "clientSecret", "PASSWORD", "passwd", "cookie", "session_id", "signing_key", "pwd"]) {
      expect(isSecretKey(k), k).toBe(true);
    }
    for (const k of ["kind", "subject", "dest", "keyId", "kid", "grant_type", "scope", "code_challenge_method", "uid"]) {
      expect(isSecretKey(k), k).toBe(false);
    }
  });
});

describe("redacted values never reach disk", () => {
  const tmp = tempRoot("sluice-audit-");
  afterAll(() => tmp.cleanup());

  test("the original secret is in neither the LMDB files nor the JSON lines", async () => {
    const secrets = ["gho_SUPERSECRETTOKEN_1234567890", "hunter2-PASSWORD-abcdef", "refresh-SECRET-zyxwvu", "SPLXlOBeZQQYbYS6WxSbIA"];
    const { log, close } = await openLog(tmp.dataDir);
    log.append({
      kind: "token.issue",
      decision: "allow",
      subject: "spiffe://acme.corp/claude",
      details: {
        client_id: "client-1",
        upstream: { access_token: secrets[0], credentials: { password: secrets[1] } },
        tokens: [{ refresh_token: secrets[2] }],
        redirect: `https://sluice.local/cb?code=${secrets[3]}&state=s`,
      },
    });
    await close();

    const files = readdirRecursive(tmp.dataDir);
    expect(files.some((f) => f.endsWith("data.mdb"))).toBe(true);
    expect(files.some((f) => f.endsWith("audit.jsonl"))).toBe(true);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const secret of secrets) expect(bytes.includes(secret), `${secret} in ${file}`).toBe(false);
    }
    expect(readFileSync(join(tmp.dataDir, "audit.jsonl"), "utf8")).toContain("client-1");
  });
});

function readdirRecursive(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? readdirRecursive(path) : [path];
  });
}
