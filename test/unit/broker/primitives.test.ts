import { describe, expect, test } from "bun:test";
import { protectedResourceMetadataUrl } from "../../../src/broker/index.ts";
import { UpstreamFlows, type UpstreamFlow } from "../../../src/broker/flows.ts";
import { authorizationUrl, pkceChallenge } from "../../../src/broker/oauth-client.ts";
import { bearerChallenge, originOf } from "../../../src/broker/resources.ts";
import { SingleFlight } from "../../../src/broker/single-flight.ts";

describe("SingleFlight", () => {
  test("concurrent callers share one run; a later call runs again", async () => {
    const sf = new SingleFlight<number>();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fn = async () => {
      runs++;
      await gate;
      return runs;
    };
    const all = Array.from({ length: 50 }, () => sf.run("k", fn));
    expect(sf.size).toBe(1);
    release();
    expect(new Set(await Promise.all(all))).toEqual(new Set([1]));
    expect(await sf.run("k", async () => 99)).toBe(99);
    expect(sf.size).toBe(0);
  });

  test("a failure reaches every waiter and does not stick", async () => {
    const sf = new SingleFlight<number>();
    const results = await Promise.allSettled([sf.run("k", async () => Promise.reject(new Error("boom"))), sf.run("k", async () => 1)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(await sf.run("k", async () => 2)).toBe(2);
  });

  test("keys are independent", async () => {
    const sf = new SingleFlight<string>();
    expect(await Promise.all([sf.run("a", async () => "a"), sf.run("b", async () => "b")])).toEqual(["a", "b"]);
  });
});

describe("UpstreamFlows", () => {
  const flow = (expiresAt: number): UpstreamFlow => ({
    pendingId: "p",
    source: "s",
    user: "u",
    workload: "w",
    service: "svc",
    resource: "https://r.example/mcp",
    codeVerifier: "v",
    server: { authorizationEndpoint: "https://as/a", tokenEndpoint: "https://as/t", issParameterSupported: false, authMethods: [] },
    client: { clientId: "c", authMethod: "none" },
    redirectUri: "https://sluice/cb",
    expiresAt,
  });

  test("a state is single use", () => {
    const flows = new UpstreamFlows(() => 1000);
    flows.add("st", flow(2000));
    expect(flows.take("st")?.pendingId).toBe("p");
    expect(flows.take("st")).toBeUndefined();
  });

  test("an expired state is gone", () => {
    let now = 1000;
    const flows = new UpstreamFlows(() => now);
    flows.add("st", flow(2000));
    now = 2000;
    expect(flows.take("st")).toBeUndefined();
  });
});

describe("URLs", () => {
  test("RFC 9728 §3.1: the well-known suffix goes before the resource path", () => {
    expect(protectedResourceMetadataUrl("https://mcp.example.com/mcp")).toBe("https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
    expect(protectedResourceMetadataUrl("https://mcp.example.com/")).toBe("https://mcp.example.com/.well-known/oauth-protected-resource");
    expect(protectedResourceMetadataUrl("https://mcp.example.com:8443/a/b/")).toBe("https://mcp.example.com:8443/.well-known/oauth-protected-resource/a/b");
  });

  test("challenge and origins", () => {
    expect(originOf("mcp.example.com", 443, "https")).toBe("https://mcp.example.com");
    expect(originOf("::1", 8443, "https")).toBe("https://[::1]:8443");
    const c = bearerChallenge("https://mcp.example.com/mcp", "invalid_token", 'say "again"');
    expect(c).toBe(`Bearer error="invalid_token", error_description="say 'again'", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`);
  });

  test("the authorization request carries PKCE S256, resource and state", () => {
    const url = new URL(
      authorizationUrl(
        { authorizationEndpoint: "https://as.example/authorize?x=1", tokenEndpoint: "https://as.example/token", issParameterSupported: true, authMethods: [] },
        { clientId: "cid", authMethod: "none" },
        { redirectUri: "https://sluice.example/oauth2/upstream/callback", state: "st", codeVerifier: "verifier-verifier-verifier-verifier-verifier", resource: "https://mcp.example/mcp", scopes: ["a", "b"] },
      ),
    );
    expect(url.searchParams.get("x")).toBe("1");
    expect(url.searchParams.get("code_challenge")).toBe(pkceChallenge("verifier-verifier-verifier-verifier-verifier"));
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("resource")).toBe("https://mcp.example/mcp");
    expect(url.searchParams.get("scope")).toBe("a b");
    expect(url.searchParams.get("state")).toBe("st");
  });
});
