import { describe, expect, test } from "bun:test";
import { envNameFor, readEnvOverrides } from "../../../src/config/env.ts";
import { resolveConfig } from "../../../src/config/resolve.ts";
import { ConfigError } from "../../../src/errors/index.ts";

function resolveError(raw: Record<string, unknown>): string {
  try {
    resolveConfig([{ origin: "file", raw }]);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a config error");
}

describe("environment overrides", () => {
  test("names are SLUICE_ + upper snake case of the field path", () => {
    expect(envNameFor("dataDir")).toBe("SLUICE_DATA_DIR");
    expect(envNameFor("proxy.listen")).toBe("SLUICE_PROXY_LISTEN");
    expect(envNameFor("policy.reloadDebounceMs")).toBe("SLUICE_POLICY_RELOAD_DEBOUNCE_MS");
  });
  test("values are typed by the field", () => {
    const { raw, set } = readEnvOverrides({ SLUICE_KERNEL_ENABLED: "false", SLUICE_POLICY_RELOAD_DEBOUNCE_MS: "250", SLUICE_PROXY_EXPLICIT: "off", SLUICE_LISTEN: "127.0.0.1:9000", OTHER: "x" });
    expect(raw).toEqual({ kernel: { enabled: false }, policy: { reloadDebounceMs: 250 }, proxy: { explicit: null }, listen: "127.0.0.1:9000" });
    expect(set.sort()).toEqual(["kernel.enabled", "listen", "policy.reloadDebounceMs", "proxy.explicit"]);
  });
  test("a bad boolean names the variable", () => {
    expect(() => readEnvOverrides({ SLUICE_KERNEL_ENABLED: "maybe" })).toThrow('environment SLUICE_KERNEL_ENABLED: expected true or false, got "maybe"');
  });
  test("a bad number names the variable", () => {
    expect(() => readEnvOverrides({ SLUICE_POLICY_RELOAD_DEBOUNCE_MS: "1e3" })).toThrow('environment SLUICE_POLICY_RELOAD_DEBOUNCE_MS: expected a whole number, got "1e3"');
  });
});

describe("resolveConfig", () => {
  test("defaults alone are a complete config", () => {
    const { config, origins } = resolveConfig([]);
    expect(config.trustDomain).toBe("sluice.local");
    expect(config.issuer).toBe("http://localhost:8443"); // a host name, so passkeys work on the defaults
    expect(config.audit.file).toBe("/var/lib/sluice/audit.jsonl");
    expect(origins).toEqual({});
    expect(Object.isFrozen(config.proxy)).toBe(true);
  });
  test("later layers win and origins are recorded", () => {
    const { config, origins } = resolveConfig([
      { origin: "file", raw: { dataDir: "/srv/a", proxy: { listen: "127.0.0.1:1" } } },
      { origin: "env", raw: { dataDir: "/srv/b" } },
    ]);
    expect(config.dataDir).toBe("/srv/b");
    expect(config.proxy).toEqual({ listen: "127.0.0.1:1", explicit: null, upstreamCaFile: null });
    expect(config.audit.file).toBe("/srv/b/audit.jsonl");
    expect(origins).toEqual({ dataDir: "env", "proxy.listen": "file" });
  });
  test("https issuer derived when tls is set", () => {
    const { config } = resolveConfig([{ origin: "file", raw: { listen: "0.0.0.0:443", tls: { certFile: "/c.pem", keyFile: "/k.pem" } } }]);
    expect(config.issuer).toBe("https://0.0.0.0:443");
  });
  test("IPv6 listen gives a bracketed issuer", () => {
    expect(resolveConfig([{ origin: "file", raw: { listen: "[::1]:8443" } }]).config.issuer).toBe("http://[::1]:8443");
  });
  test("non-loopback listen without tls is refused", () => {
    expect(resolveError({ listen: "0.0.0.0:8443" })).toBe("listen (from file): 0.0.0.0:8443 is not a loopback address, so it needs HTTPS: set tls.certFile and tls.keyFile (or listen on 127.0.0.1)");
  });
  test("half a tls pair is refused", () => {
    expect(resolveError({ tls: { certFile: "/c.pem" } })).toBe("tls: set both certFile and keyFile, or neither");
  });
  test("bad host:port", () => {
    expect(resolveError({ proxy: { listen: "15001" } })).toBe('proxy.listen (from file): "15001" is not host:port (e.g. 127.0.0.1:8443 or [::1]:8443)');
    expect(resolveError({ listen: "127.0.0.1:70000" })).toBe("listen (from file): port 70000 is out of range (0-65535)");
  });
  test("relative paths are refused", () => {
    expect(resolveError({ dataDir: "data" })).toBe('dataDir (from file): "data" must be an absolute path');
  });
  test("invalid trust domain", () => {
    expect(resolveError({ trustDomain: "Acme.Corp" })).toBe('trustDomain (from file): "Acme.Corp" is not a valid SPIFFE trust domain: trust domain must be lowercase (did you mean "acme.corp"?)');
  });
  test("issuer must be https outside loopback and have no query", () => {
    expect(resolveError({ issuer: "http://sluice.example.com" })).toBe('issuer (from file): "http://sluice.example.com" must use https (http only on loopback)');
    expect(resolveError({ issuer: "https://sluice.example.com/?a=1" })).toBe('issuer (from file): "https://sluice.example.com/?a=1" must not have a query or fragment (RFC 8414 §2)');
  });
  test("debounce bounds", () => {
    expect(resolveError({ policy: { reloadDebounceMs: 1 } })).toBe("policy.reloadDebounceMs (from file): 1 is out of range (10-10000)");
  });
});

describe("oauth, users and broker sections", () => {
  test("durations become seconds; defaults apply", () => {
    const { config } = resolveConfig([{ origin: "file", raw: { oauth: { accessTokenTtl: "5m" }, users: { sessionIdle: "10m" } } }]);
    expect(config.oauth.accessTokenTtlSeconds).toBe(300);
    expect(config.oauth.refreshTokenTtlSeconds).toBe(30 * 86_400);
    expect(config.oauth.codeTtlSeconds).toBe(60);
    expect(config.users.sessionIdleSeconds).toBe(600);
    expect(config.users.spiffeIdTemplate).toBe("spiffe://{trustDomain}/user/{name}");
    expect(config.broker.refreshAheadSeconds).toBe(120);
  });
  test("out of range, bad template and idle beyond absolute are refused with the field named", () => {
    expect(() => resolveConfig([{ origin: "file", raw: { oauth: { codeTtl: "1h" } } }])).toThrow(/oauth\.codeTtl \(from file\): 1h is out of range/);
    expect(() => resolveConfig([{ origin: "env", raw: { users: { spiffeIdTemplate: "spiffe://x/user" } } }])).toThrow(/users\.spiffeIdTemplate \(from env\)/);
    expect(() => resolveConfig([{ origin: "file", raw: { users: { sessionIdle: "2d", sessionAbsolute: "1d" } } }])).toThrow(/longer than users\.sessionAbsolute/);
    expect(() => resolveConfig([{ origin: "file", raw: { proxy: { upstreamCaFile: "ca.pem" } } }])).toThrow(/proxy\.upstreamCaFile.*absolute/);
  });
});

describe("kernel.interfaces", () => {
  test("null by default (every non-loopback interface); a list from the file; comma-separated from the environment", () => {
    expect(resolveConfig([]).config.kernel.interfaces).toBeNull();
    expect(resolveConfig([{ origin: "file", raw: { kernel: { interfaces: ["eth0", "ens3"] } } }]).config.kernel.interfaces).toEqual(["eth0", "ens3"]);
    const { raw } = readEnvOverrides({ SLUICE_KERNEL_INTERFACES: "eth0, eth1" });
    expect(resolveConfig([{ origin: "env", raw }]).config.kernel.interfaces).toEqual(["eth0", "eth1"]);
    expect(resolveConfig([{ origin: "env", raw: readEnvOverrides({ SLUICE_KERNEL_INTERFACES: "none" }).raw }]).config.kernel.interfaces).toBeNull();
    expect(() => resolveConfig([{ origin: "env", raw: readEnvOverrides({ SLUICE_KERNEL_INTERFACES: "eth0,bad/name" }).raw }])).toThrow('kernel.interfaces (from env): "bad/name" is not an interface name');
  });
});
