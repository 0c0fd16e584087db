import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPolicyDir } from "../../../src/policy/index.ts";
import { PolicyResourceValidator } from "../../../src/oauth/resources.ts";
import { OAuthError } from "../../../src/oauth/index.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-oauth-res-"));
writeFileSync(
  join(dir, "s.yaml"),
  `apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: mcp}
spec:
  addresses: [{address: mcp.example.test, port: 443}, {address: "::1", port: 9000}]
  labels: {app: mcp}
`,
);
const { snapshot } = await loadPolicyDir(dir, { trustDomain: "example.org" });
rmSync(dir, { recursive: true, force: true });
const v = new PolicyResourceValidator({ current: () => snapshot! }, "https://as.example.test");

function reason(resource: string): string {
  try {
    v.validate(resource);
  } catch (err) {
    expect(err).toBeInstanceOf(OAuthError);
    expect((err as OAuthError).error).toBe("invalid_target");
    return (err as OAuthError).description;
  }
  throw new Error(`${resource} was accepted`);
}

describe("ResourceValidator (RFC 8707 §2)", () => {
  test("accepts Services of the policy and the issuer; canonical scheme/host, no default port", () => {
    expect(v.validate("https://MCP.example.test/mcp")).toBe("https://mcp.example.test/mcp");
    expect(v.validate("https://mcp.example.test:443")).toBe("https://mcp.example.test");
    expect(v.validate("http://[::1]:9000/x")).toBe("http://[::1]:9000/x");
    expect(v.validate("https://as.example.test/oauth2/userinfo")).toBe("https://as.example.test/oauth2/userinfo");
  });
  test("refuses with a reason", () => {
    expect(reason("mcp.example.test")).toMatch(/absolute URI/);
    expect(reason("https://mcp.example.test/#x")).toMatch(/fragment/);
    expect(reason("http://mcp.example.test/")).toMatch(/https/);
    expect(reason("https://mcp.example.test:8443/")).toMatch(/not a Service/);
    expect(reason("https://user:pw@mcp.example.test/")).toMatch(/user information/);
    expect(reason("ftp://mcp.example.test/")).toMatch(/https/);
    expect(reason("x".repeat(3000))).toMatch(/longer/);
  });
  test("no policy loaded → invalid_target naming that", () => {
    const none = new PolicyResourceValidator({ current: () => { throw new Error("no policy"); } }, "https://as.example.test");
    expect(() => none.validate("https://mcp.example.test")).toThrow(/no policy is loaded/);
  });
});
