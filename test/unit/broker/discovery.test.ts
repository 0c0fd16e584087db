/**
 * Upstream discovery against a real HTTP server on loopback: protected resource metadata is used
 * only when its `resource` is the resource sluice asked about (RFC 9728 §3.3), and an upstream on
 * a public host cannot send sluice to loopback or other special-use addresses (SSRF).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { discoverFromResource } from "../../../src/broker/discovery.ts";
import { createUpstreamHttp, type FetchLike } from "../../../src/broker/http.ts";

let server: ReturnType<typeof Bun.serve>;
let origin = "";
/** What the protected resource metadata says its resource is, per test. */
let claimed: unknown;
/** Public-host case: what the PRM names as AS, and the AS metadata's token endpoint. */
let publicAs = "";
let publicTokenEndpoint = "";
let publicAuthorizationEndpoint = "https://as.example/authorize";

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.headers.get("x-test-host") === "mcp.example") return Response.json({ resource: "https://mcp.example/mcp", authorization_servers: [publicAs] });
      if (req.headers.get("x-test-host") === "as.example") {
        return Response.json({ issuer: "https://as.example", authorization_endpoint: publicAuthorizationEndpoint, token_endpoint: publicTokenEndpoint, code_challenge_methods_supported: ["S256"] });
      }
      if (path.startsWith("/.well-known/oauth-protected-resource")) return Response.json({ ...(claimed === undefined ? {} : { resource: claimed }), authorization_servers: [origin] });
      if (path === "/.well-known/oauth-authorization-server") {
        return Response.json({ issuer: origin, authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token`, code_challenge_methods_supported: ["S256"] });
      }
      return new Response("not found", { status: 404 });
    },
  });
  origin = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop(true));

const http = () => createUpstreamHttp({ caFile: null });

describe("protected resource metadata (RFC 9728 §3.3)", () => {
  test("metadata for the resource itself is used", async () => {
    claimed = `${origin}/mcp`;
    const found = await discoverFromResource(http(), `${origin}/mcp`);
    expect(found.issuer).toBe(origin);
    expect(found.tokenEndpoint).toBe(`${origin}/token`);
  });

  test("metadata for a parent path of the resource is used", async () => {
    claimed = `${origin}/`;
    expect((await discoverFromResource(http(), `${origin}/mcp`)).issuer).toBe(origin);
  });

  for (const [what, value] of [
    ["another origin", "https://honest.example/mcp"],
    ["a sibling path", "/mcp-other"],
    ["a longer path", "/mcp/deeper"],
    ["no resource at all", undefined],
    ["a non-string", 42],
  ] as const) {
    test(`metadata naming ${what} is refused`, async () => {
      claimed = typeof value === "string" && value.startsWith("/") ? `${origin}${value}` : value;
      const err = await discoverFromResource(http(), `${origin}/mcp`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as { code?: string }).code).toBe("ERR_BROKER_DISCOVERY");
      expect((err as Error).message).toContain("RFC 9728 §3.3");
    });
  }
});

/**
 * Tests reach only loopback, so the public hosts mcp.example and as.example are routed to the
 * loopback server by this fetch (the server answers for real; only the destination is rewritten).
 * sluice's checks all run on the URLs as the metadata wrote them.
 */
const routedFetch: FetchLike = (input, init) => {
  const u = new URL(input);
  if (u.hostname !== "mcp.example" && u.hostname !== "as.example") {
    // Never leave loopback, even when the code under test would.
    if (u.hostname === "127.0.0.1") return fetch(input, init);
    return Promise.reject(new Error(`test transport: ${u.hostname} is not reachable from tests`));
  }
  const headers = new Headers(init?.headers);
  headers.set("x-test-host", u.hostname);
  return fetch(`${origin}${u.pathname}${u.search}`, { ...init, headers });
};

describe("an upstream on a public host cannot point sluice at internal addresses", () => {
  const routed = () => createUpstreamHttp({ caFile: null, fetch: routedFetch });

  test("a public AS with public endpoints is used", async () => {
    publicAs = "https://as.example";
    publicTokenEndpoint = "https://as.example/token";
    const found = await discoverFromResource(routed(), "https://mcp.example/mcp");
    expect(found.issuer).toBe("https://as.example");
    expect(found.tokenEndpoint).toBe("https://as.example/token");
  });

  for (const [what, as] of [
    ["a loopback http AS", () => origin],
    ["a link-local AS (cloud metadata)", () => "https://169.254.169.254"],
    ["a private-address AS", () => "https://10.0.0.1"],
    ["an IPv6 loopback AS", () => "https://[::1]:8443"],
    ["localhost", () => "http://localhost:9"],
  ] as const) {
    test(`protected resource metadata naming ${what} is refused`, async () => {
      publicAs = as();
      const err = await discoverFromResource(routed(), "https://mcp.example/mcp").catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe("ERR_BROKER_DISCOVERY");
      expect((err as Error).message).toContain("does not follow an upstream to internal addresses");
    });
  }

  test("AS metadata with a loopback token endpoint is refused", async () => {
    publicAs = "https://as.example";
    publicTokenEndpoint = `${origin}/token`;
    const err = await discoverFromResource(routed(), "https://mcp.example/mcp").catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("ERR_BROKER_DISCOVERY");
    expect((err as Error).message).toContain("token_endpoint");
  });

  for (const endpoint of ["javascript:alert(document.domain)", "http://as.example/authorize", "data:text/html,x"]) {
    test(`AS metadata with authorization_endpoint ${endpoint} is refused (RFC 6749 §3.1: TLS)`, async () => {
      publicAs = "https://as.example";
      publicTokenEndpoint = "https://as.example/token";
      publicAuthorizationEndpoint = endpoint;
      try {
        const err = await discoverFromResource(routed(), "https://mcp.example/mcp").catch((e: unknown) => e);
        expect((err as { code?: string }).code).toBe("ERR_BROKER_DISCOVERY");
        expect((err as Error).message).toContain("authorization_endpoint");
      } finally {
        publicAuthorizationEndpoint = "https://as.example/authorize";
      }
    });
  }

  test("a loopback resource may name a loopback AS (a local upstream)", async () => {
    claimed = `${origin}/mcp`;
    expect((await discoverFromResource(createUpstreamHttp({ caFile: null }), `${origin}/mcp`)).issuer).toBe(origin);
  });
});
