/** Pure rules: redirect URI matching (RFC 8252 §7.3), spiffe_id bindings, the SSRF address policy. */
import { describe, expect, test } from "bun:test";
import { publicAddressesOnly, specialUseReason } from "../../../src/oauth/clients/address-policy.ts";
import { checkRedirectUri, redirectUriMatches } from "../../../src/oauth/clients/redirect-uri.ts";
import { bindingMatches, parseSpiffeBinding } from "../../../src/oauth/clients/spiffe-binding.ts";
import { BundleSet } from "../../../src/spiffe/index.ts";
import { OAuthError } from "../../../src/oauth/types.ts";

describe("redirectUriMatches (RFC 9700 §2.1 exact, RFC 8252 §7.3 loopback port)", () => {
  const registered = ["https://app.example/cb", "http://127.0.0.1/cb", "http://localhost:3000/cb?x=1", "http://[::1]/cb"];
  test.each([
    ["https://app.example/cb", true],
    ["https://app.example/cb/", false],
    ["https://APP.example/cb", false],
    ["https://app.example:8443/cb", false],
    ["http://127.0.0.1:51000/cb", true],
    ["http://127.0.0.1:51000/cb2", false],
    ["http://127.0.0.1:51000/cb?x=1", false],
    ["http://localhost:4000/cb?x=1", true],
    ["http://localhost:4000/cb", false],
    ["http://[::1]:9999/cb", true],
    ["http://127.0.0.2/cb", false],
    ["http://127.0.0.1:51000/cb#frag", false],
    ["http://user@127.0.0.1:51000/cb", false],
    ["https://app.example:443/cb", false],
  ])("%s → %p", (uri, expected) => {
    expect(redirectUriMatches(registered, uri as string)).toBe(expected as boolean);
  });
});

describe("checkRedirectUri", () => {
  test("kinds", () => {
    expect(checkRedirectUri("https://a.example/x", "web")).toBe("https");
    expect(checkRedirectUri("http://127.0.0.1:1/x", "native")).toBe("loopback");
    expect(checkRedirectUri("com.example.app:/x", "native")).toBe("private-use");
  });
  test("too long", () => {
    expect(() => checkRedirectUri(`https://a.example/${"x".repeat(2100)}`, "web")).toThrow(OAuthError);
  });
});

describe("spiffe_id bindings", () => {
  test("exact and prefix", () => {
    expect(bindingMatches("spiffe://td/a", "spiffe://td/a")).toBe(true);
    expect(bindingMatches("spiffe://td/a", "spiffe://td/a/b")).toBe(false);
    expect(bindingMatches("spiffe://td/a/*", "spiffe://td/a/b")).toBe(true);
    expect(bindingMatches("spiffe://td/a/*", "spiffe://td/a/b/c")).toBe(true);
    expect(bindingMatches("spiffe://td/a/*", "spiffe://td/a")).toBe(false);
    expect(bindingMatches("spiffe://td/a/*", "spiffe://td/ab")).toBe(false);
    expect(bindingMatches("spiffe://td/a/*", "spiffe://other/a/b")).toBe(false);
  });
  test("parse: known trust domains only; no whole-trust-domain prefix", () => {
    const bundles = new BundleSet();
    bundles.set({ trustDomain: "td.example", x509Authorities: [], jwtAuthorities: [] } as never);
    expect(parseSpiffeBinding("spiffe://td.example/a/*", bundles)).toMatchObject({ prefix: true, trustDomain: "td.example" });
    expect(() => parseSpiffeBinding("spiffe://td.example/*", bundles)).toThrow("too wide");
    expect(() => parseSpiffeBinding("spiffe://other.example/a", bundles)).toThrow("neither");
    expect(() => parseSpiffeBinding("spiffe://td.example/a/../b", bundles)).toThrow("not a valid SPIFFE ID");
  });
});

describe("special-use addresses (SSRF policy)", () => {
  test.each([
    ["127.0.0.1", "loopback"],
    ["::1", "loopback"],
    ["::ffff:10.0.0.1", "private"],
    ["172.31.255.255", "private"],
    ["100.127.0.1", "CGNAT"],
    ["169.254.169.254", "link-local"],
    ["fe80::1", "link-local"],
    ["fc00::1", "unique local"],
    ["198.51.100.1", "documentation"],
    ["2001:db8::1", "documentation"],
    ["64:ff9b::a00:1", "translation"],
    ["2002:7f00:1::", "6to4"],
    ["255.255.255.255", "broadcast"],
    ["not-an-ip", "not an IP"],
  ])("%s is refused (%s)", (address, why) => {
    expect(specialUseReason(address as string)).toContain(why as string);
    expect(publicAddressesOnly(address as string)).toBe(false);
  });
  test.each(["8.8.8.8", "172.32.0.1", "100.128.0.1", "2600::1"])("%s is public", (address) => {
    expect(publicAddressesOnly(address)).toBe(true);
  });
});
