/** IP and CIDR parsing: strict forms, canonical text (RFC 5952), host bits, IPv4-mapped IPv6. */
import { describe, expect, test } from "bun:test";
import { canonicalHost, formatIP, isLoopbackHost, parseCidr, parseIP, parseIPv4, parseIPv6 } from "../../../src/policy/index.ts";

describe("IPv4", () => {
  test.each([
    ["0.0.0.0", 0],
    ["10.20.30.40", 0x0a141e28],
    ["255.255.255.255", 0xffffffff],
  ])("%s", (s, n) => expect(parseIPv4(s)).toBe(n));

  test.each([["256.0.0.1"], ["1.2.3"], ["1.2.3.4.5"], ["01.2.3.4"], ["1..2.3"], ["1.2.3.4 "], ["a.b.c.d"], [""], ["1.2.3.-4"]])("rejects %p", (s) => expect(parseIPv4(s)).toBeUndefined());
});

describe("IPv6", () => {
  test.each([
    ["::", "::"],
    ["::1", "::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
    ["fe80::1:2", "fe80::1:2"],
    ["1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
  ])("%s → %s", (input, canonical) => {
    const v = parseIPv6(input);
    expect(v).toBeDefined();
    expect(formatIP({ family: 6, value: v! })).toBe(canonical);
  });

  test.each([[":::"], ["1::2::3"], ["12345::"], ["1:2:3:4:5:6:7:8:9"], ["fe80::1%eth0"], ["::g"], ["1:2:3:4:5:6:7"]])("rejects %p", (s) => expect(parseIPv6(s)).toBeUndefined());

  test("IPv4-mapped addresses become IPv4", () => {
    expect(parseIP("::ffff:10.1.2.3")).toEqual({ family: 4, value: 0x0a010203 });
    expect(parseIP("::FFFF:a01:203")).toEqual({ family: 4, value: 0x0a010203 });
    expect(parseIP("::a01:203")?.family).toBe(6); // IPv4-compatible (deprecated) is not mapped
  });
});

describe("CIDR", () => {
  test("canonical text and bounds", () => {
    const r = parseCidr("10.0.0.0/8");
    expect(r).toEqual({ ok: true, cidr: { family: 4, prefix: 8, first: 0x0a000000n, last: 0x0affffffn, text: "10.0.0.0/8" } });
    const v6 = parseCidr("2001:DB8::/32");
    expect(v6.ok && v6.cidr.text).toBe("2001:db8::/32");
    expect(parseCidr("192.0.2.7").ok && (parseCidr("192.0.2.7") as { cidr: { text: string } }).cidr.text).toBe("192.0.2.7/32");
    expect(parseCidr("0.0.0.0/0")).toMatchObject({ ok: true, cidr: { first: 0n, last: 0xffffffffn } });
  });

  test("host bits set: the message names the network", () => {
    expect(parseCidr("10.1.2.3/8")).toEqual({ ok: false, message: 'host bits set in "10.1.2.3/8"; did you mean 10.0.0.0/8?' });
    expect(parseCidr("2001:db8::1/32")).toEqual({ ok: false, message: 'host bits set in "2001:db8::1/32"; did you mean 2001:db8::/32?' });
  });

  test("mapped IPv6 blocks become IPv4 blocks", () => {
    expect(parseCidr("::ffff:10.0.0.0/104")).toMatchObject({ ok: true, cidr: { family: 4, prefix: 8, text: "10.0.0.0/8" } });
  });

  test.each([["10.0.0.0/33"], ["10.0.0.0/"], ["10.0.0.0/08"], ["10.0.0.0/-1"], ["10.0.0/8"], ["::/129"], ["x/8"]])("rejects %p", (s) => expect(parseCidr(s).ok).toBe(false));
});

describe("hosts", () => {
  test("canonicalHost", () => {
    expect(canonicalHost("API.Example.COM.")).toEqual({ kind: "hostname", value: "api.example.com" });
    expect(canonicalHost("[2001:DB8::1]")).toEqual({ kind: "ipv6", value: "2001:db8::1" });
    expect(canonicalHost("::ffff:127.0.0.1")).toEqual({ kind: "ipv4", value: "127.0.0.1" });
    expect(canonicalHost("10.0.0.256")).toBeUndefined();
    expect(canonicalHost("-bad.example.com")).toBeUndefined();
    expect(canonicalHost("*.example.com")).toBeUndefined();
  });

  test("isLoopbackHost", () => {
    for (const h of ["localhost", "127.0.0.1", "127.9.9.9", "[::1]", "::1", "app.localhost"]) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ["example.com", "10.0.0.1", "::2", "localhost.example.com"]) expect(isLoopbackHost(h)).toBe(false);
  });
});
