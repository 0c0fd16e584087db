import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../../src/config/index.ts";
import { ConfigError } from "../../../src/errors/index.ts";
import { readAssetText } from "../../../src/assets/index.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function write(text: string): string {
  const path = join(dir, `c${n++}.yaml`);
  writeFileSync(path, text);
  return path;
}

function configError(text: string, env: Record<string, string> = {}): string {
  try {
    loadConfig({ file: write(text), env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a config error");
}

describe("sluice.yaml", () => {
  test("no file at all: defaults (--config none)", () => {
    const loaded = loadConfig({ file: "none", env: {} });
    expect(loaded.file).toBeNull();
    expect(loaded.config.dataDir).toBe("/var/lib/sluice");
  });
  test("an empty file is valid", () => {
    expect(loadConfig({ file: write("# nothing\n"), env: {} }).config.listen).toBe("127.0.0.1:8443");
  });
  test("the template written by `sluice init` equals the defaults", () => {
    const text = readAssetText("templates/sluice.yaml").replaceAll("{{trustDomain}}", "sluice.local").replaceAll("{{policyDir}}", "/etc/sluice/policies");
    const fromTemplate = loadConfig({ file: write(text), env: {} }).config;
    expect(fromTemplate).toEqual(loadConfig({ file: "none", env: {} }).config);
  });
  test("file values, then env over file", () => {
    const path = write("dataDir: /srv/sluice\nproxy:\n  explicit: 127.0.0.1:3128\nmetrics:\n  listen: null\n");
    const loaded = loadConfig({ file: path, env: { SLUICE_DATA_DIR: "/srv/other" } });
    expect(loaded.config.dataDir).toBe("/srv/other");
    expect(loaded.config.proxy.explicit).toBe("127.0.0.1:3128");
    expect(loaded.config.metrics.listen).toBeNull();
    expect(loaded.origins).toMatchObject({ dataDir: "env", "proxy.explicit": "file", "metrics.listen": "file" });
  });
  test("SLUICE_CONFIG names the file when --config is absent", () => {
    const path = write("trustDomain: acme.corp\n");
    expect(loadConfig({ file: null, env: { SLUICE_CONFIG: path } }).config.trustDomain).toBe("acme.corp");
  });
  test("a named file that does not exist", () => {
    expect(() => loadConfig({ file: join(dir, "missing.yaml"), env: {} })).toThrow(`config file ${join(dir, "missing.yaml")} not found (sluice init writes one; --config none runs on defaults)`);
  });
  test("unknown field with did-you-mean, at its line and column", () => {
    const file = join(dir, `c${n}.yaml`);
    expect(configError("trustDomain: acme.corp\ndatadir: /srv\n")).toBe(`invalid config:\n  ${file}:2:1: error: unknown field \`datadir\` in sluice.yaml; did you mean \`dataDir\`?`);
  });
  test("every error at once, sorted", () => {
    const message = configError("listen: 8443\nlog:\n  level: verbose\nkernel:\n  enabled: yes please\n");
    const lines = message.split("\n").slice(1).map((l) => l.replace(/^ {2}\S+?:/, ""));
    expect(lines).toEqual([
      '1:9: error: expected string, got integer 8443',
      '3:10: error: unknown log level "verbose" (expected one of debug, info, warn, error)',
      '5:12: error: expected boolean (true or false), got string "yes please"',
    ]);
  });
  test("null where a value is required", () => {
    expect(configError("listen: null\n")).toContain(':1:1: error: `listen` cannot be null (its default is "127.0.0.1:8443"); remove the line to use the default');
  });
  test("YAML syntax error", () => {
    expect(configError("proxy:\n\tlisten: x\n")).toMatch(/:2:1: error: tabs are not allowed for indentation; use spaces/);
  });
  test("two documents", () => {
    expect(configError("listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n")).toContain(":3:1: error: expected a single YAML document, found more than one");
  });
  test("semantic checks after the schema", () => {
    expect(configError("listen: 10.0.0.1:8443\n")).toBe("listen (from file): 10.0.0.1:8443 is not a loopback address, so it needs HTTPS: set tls.certFile and tls.keyFile (or listen on 127.0.0.1)");
  });
  test("ca lifetimes and an operator intermediate", () => {
    const loaded = loadConfig({ file: write("ca:\n  ttl: 60d\n  intermediateCertFile: /etc/pki/int.pem\n  intermediateKeyFile: /etc/pki/int.key\n"), env: {} });
    expect(loaded.config.ca).toEqual({ ttlSeconds: 60 * 86_400, overlapSeconds: 10 * 86_400, intermediate: { certFile: "/etc/pki/int.pem", keyFile: "/etc/pki/int.key" } });
    expect(loadConfig({ file: "none", env: { SLUICE_CA_TTL: "2d", SLUICE_CA_OVERLAP: "12h" } }).config.ca).toMatchObject({ ttlSeconds: 172_800, overlapSeconds: 43_200 });
  });
  test("ca errors", () => {
    expect(configError("ca:\n  ttl: 10m\n")).toContain(":2:8: error: ca.ttl 10m is below the minimum 1h");
    expect(configError("ca:\n  intermediateCertFile: /a.pem\n")).toBe("ca: set both intermediateCertFile and intermediateKeyFile, or neither");
    expect(configError("ca:\n  ttl: 1d\n  overlap: 2d\n")).toBe("ca.overlap (from file): 2d is out of range (1m to 23h59m)");
    expect(() => loadConfig({ file: "none", env: { SLUICE_CA_TTL: "forever" } })).toThrow('ca.ttl (from env): "forever" is not a duration (e.g. 90s, 5m, 12h, 30d)');
  });
  test("federation", () => {
    const text = "federation:\n  - trustDomain: partner.example\n    bundleFile: /etc/sluice/partner.json\n  - trustDomain: other.example\n    bundleEndpoint: https://other.example/bundle\n";
    expect(loadConfig({ file: write(text), env: {} }).config.federation).toEqual([
      { trustDomain: "partner.example", bundleFile: "/etc/sluice/partner.json", bundleEndpoint: null },
      { trustDomain: "other.example", bundleFile: null, bundleEndpoint: "https://other.example/bundle" },
    ]);
  });
  test("federation errors", () => {
    expect(configError("federation:\n  - trustDomain: a.example\n")).toContain(":2:5: error: set exactly one of `bundleFile` and `bundleEndpoint`");
    expect(configError("federation:\n  - trustDomain: a.example\n    bundleEndpoint: http://a.example/b\n")).toContain(':3:21: error: invalid bundle endpoint URL "http://a.example/b": use an https:// URL');
    expect(configError("federation:\n  - trustDomain: sluice.local\n    bundleFile: /b.json\n")).toBe("federation[0]: sluice.local is this host's own trust domain; federation lists other trust domains");
    expect(configError("federation:\n  - trustDomain: a.example\n    bundleFile: /b.json\n  - trustDomain: a.example\n    bundleFile: /c.json\n")).toBe("federation[1]: a.example is listed twice");
  });
  test("oversized file", () => {
    expect(configError("#".repeat(300_000))).toContain("bytes; the limit is 262144");
  });
});
