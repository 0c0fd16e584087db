/**
 * The data path's hand-written checks (no regexes per request): they must agree with the RFC rules
 * they replace. Content-Length lists, status lines, header-value characters, histogram buckets.
 */
import { describe, expect, test } from "bun:test";
import { ProxyError } from "../../../src/proxy/errors.ts";
import { isFieldValue, isToken, parseRequestHead, parseResponseHead, requestFraming, responseFraming } from "../../../src/proxy/http/head.ts";
import { DEFAULT_HTTP_LIMITS as L } from "../../../src/proxy/http/limits.ts";
import { ProxyMetrics } from "../../../src/proxy/metrics.ts";

const status = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as ProxyError).status;
  }
  return 0;
};

describe("hand-written field checks", () => {
  test("tokens (RFC 9110 §5.6.2) and field values (§5.5)", () => {
    for (const ok of ["Authorization", "x-a_b.c~1", "!#$%&'*+-.^_`|~"]) expect(isToken(ok)).toBe(true);
    for (const bad of ["", "a b", "a:b", "a\tb", "é", "a(b)", "a\u0100"]) expect(isToken(bad)).toBe(false);
    for (const ok of ["", "Bearer abc", "a\tb", "caf\u00e9", "~"]) expect(isFieldValue(ok)).toBe(true);
    for (const bad of ["a\r\nb", "a\nb", "a\u0000", "a\u007f", "a\u0100"]) expect(isFieldValue(bad)).toBe(false);
  });

  test("Content-Length: equal values in lists and repeated fields pass; differing text or non-digits is 400 (RFC 9112 §6.3)", () => {
    const req = (cl: string[]) => parseRequestHead(`POST / HTTP/1.1\r\n${cl.map((v) => `Content-Length: ${v}`).join("\r\n")}`, L);
    expect(requestFraming(req(["5, 5"]))).toEqual({ kind: "length", length: 5 });
    expect(requestFraming(req(["5", "5"]))).toEqual({ kind: "length", length: 5 });
    expect(requestFraming(req(["0"]))).toEqual({ kind: "none" });
    for (const bad of [["5, 05"], ["5", "6"], ["+5"], [""], ["5,"], ["1".repeat(16)], ["0x5"]]) expect(status(() => requestFraming(req(bad)))).toBe(400);
    expect(() => responseFraming("GET", 200, [["content-length", "5, 6"]])).toThrow("invalid Content-Length");
  });

  test("status lines: version, three digits, optional reason", () => {
    expect(parseResponseHead("HTTP/1.1 200 OK\r\nA: 1", L)).toEqual({ version: "HTTP/1.1", status: 200, reason: "OK", headers: [["A", "1"]] });
    expect(parseResponseHead("HTTP/1.0 404", L)).toMatchObject({ version: "HTTP/1.0", status: 404, reason: "" });
    expect(parseResponseHead("HTTP/1.1 204 ", L)).toMatchObject({ status: 204, reason: "" });
    expect(parseResponseHead("HTTP/1.1 401 Not Authorized Here", L).reason).toBe("Not Authorized Here");
    for (const bad of ["HTTP/1.1 20 OK", "HTTP/1.1 2000", "HTTP/2.0 200 OK", "HTTP/1.1  200", "HTTP/1.1 2x0 OK", "http/1.1 200 OK", ""]) expect(status(() => parseResponseHead(bad, L))).toBe(502);
  });

  test("request lines: method, target and version found without splitting the head", () => {
    expect(parseRequestHead("GET /a HTTP/1.1", L)).toEqual({ method: "GET", target: "/a", version: "HTTP/1.1", headers: [] });
    expect(status(() => parseRequestHead("GET\r\nHost: a b HTTP/1.1", L))).toBe(400);
    expect(status(() => parseRequestHead("GET /a\u0000 HTTP/1.1", L))).toBe(400);
  });
});

describe("metrics series", () => {
  test("per-bucket counts render cumulatively; status classes add up per Service", () => {
    const m = new ProxyMetrics();
    const seen: number[] = [];
    m.onRequest((o) => seen.push(o.status));
    const s = m.series("api", "injected");
    m.record(s, 200, 10, 20, 0.0004);
    m.record(s, 502, 10, 20, 0.003);
    m.observe({ service: "api", label: "passed", status: 204, bytesIn: 1, bytesOut: 2, seconds: 100 });
    const text = m.renderPrometheus();
    expect(text).toContain('sluice_proxy_request_duration_seconds_bucket{service="api",decision="injected",le="0.0005"} 1');
    expect(text).toContain('sluice_proxy_request_duration_seconds_bucket{service="api",decision="injected",le="0.005"} 2');
    expect(text).toContain('sluice_proxy_request_duration_seconds_bucket{service="api",decision="passed",le="30"} 0');
    expect(text).toContain('sluice_proxy_request_duration_seconds_bucket{service="api",decision="passed",le="+Inf"} 1');
    expect(text).toContain('sluice_proxy_responses_total{service="api",code="2xx"} 2');
    expect(text).toContain('sluice_proxy_responses_total{service="api",code="5xx"} 1');
    expect(m.requests("api", "injected")).toBe(2);
    expect(seen).toEqual([200, 502, 204]);
  });
});
