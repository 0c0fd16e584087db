/** Locating the Workload Endpoint: SPIFFE Workload Endpoint §4. */
import { describe, expect, test } from "bun:test";
import { parseEndpoint, resolveWorkloadEndpoint } from "../../../src/spiffe/workload-api/index.ts";

describe("SPIFFE_ENDPOINT_SOCKET (§4)", () => {
  test.each([
    ["unix:///run/sluice/workload.sock", "/run/sluice/workload.sock"],
    ["unix:/run/sluice/workload.sock", "/run/sluice/workload.sock"],
    ["unix:///tmp/with%20space.sock", "/tmp/with space.sock"],
  ])("%s → %s", (value, path) => {
    expect(parseEndpoint(value, "SPIFFE_ENDPOINT_SOCKET", false)).toBe(path);
  });

  test.each([
    ["unix://host/run/workload.sock", "must not have an authority"],
    ["unix:relative.sock", "must be absolute"],
    ["unix:///run/workload.sock?x=1", "query or fragment"],
    ["unix:///run/workload.sock#frag", "query or fragment"],
    ["tcp://127.0.0.1:8000", "unix socket only"],
    ["/run/workload.sock", "expected a unix:///path URI"],
    ["http://localhost/x", "expected a unix:///path URI"],
  ])("%s is refused (%s)", (value, message) => {
    expect(() => parseEndpoint(value, "SPIFFE_ENDPOINT_SOCKET", false)).toThrow(message);
  });
});

describe("resolution order: explicit, then the environment, then the config", () => {
  const env = { SPIFFE_ENDPOINT_SOCKET: "unix:///from/env.sock" };
  test("explicit wins (bare paths allowed)", () => {
    expect(resolveWorkloadEndpoint({ explicit: "/explicit.sock", env, configSocket: "/cfg.sock" })).toEqual({ path: "/explicit.sock", source: "explicit" });
  });
  test("then SPIFFE_ENDPOINT_SOCKET", () => {
    expect(resolveWorkloadEndpoint({ env, configSocket: "/cfg.sock" })).toEqual({ path: "/from/env.sock", source: "env" });
  });
  test("then the config's workloadSocket", () => {
    expect(resolveWorkloadEndpoint({ env: {}, configSocket: "/run/sluice/workload.sock" })).toEqual({ path: "/run/sluice/workload.sock", source: "config" });
  });
  test("nothing at all: a ConfigError that says what to set", () => {
    expect(() => resolveWorkloadEndpoint({ env: {} })).toThrow("SPIFFE_ENDPOINT_SOCKET");
  });
});
