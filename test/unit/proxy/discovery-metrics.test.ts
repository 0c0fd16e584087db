/** RFC 9728 helpers of the discovery rewriter, and the Prometheus rendering of the proxy metrics. */
import { describe, expect, test } from "bun:test";
import { isProtectedResourceMetadataPath, resourceMetadataParam } from "../../../src/proxy/discovery-rewrite.ts";
import { ProxyMetrics } from "../../../src/proxy/index.ts";

describe("RFC 9728", () => {
  test("well-known forms (§3.1)", () => {
    expect(isProtectedResourceMetadataPath("/.well-known/oauth-protected-resource")).toBe(true);
    expect(isProtectedResourceMetadataPath("/.well-known/oauth-protected-resource/mcp/v1?x=1")).toBe(true);
    expect(isProtectedResourceMetadataPath("/.well-known/oauth-protected-resourcex")).toBe(false);
    expect(isProtectedResourceMetadataPath("/mcp/.well-known/oauth-protected-resource")).toBe(false);
  });
  test("resource_metadata in a challenge (§5.1), quoted or not", () => {
    expect(resourceMetadataParam('Bearer realm="x", resource_metadata="https://a.test/.well-known/oauth-protected-resource/mcp"')).toBe("https://a.test/.well-known/oauth-protected-resource/mcp");
    expect(resourceMetadataParam("Bearer resource_metadata=https://a.test/m, scope=x")).toBe("https://a.test/m");
    expect(resourceMetadataParam('Bearer error="invalid_token"')).toBeUndefined();
  });
});

describe("metrics", () => {
  test("counters and histogram per Service and decision, hooks called", () => {
    const m = new ProxyMetrics();
    const seen: string[] = [];
    m.onRequest((o) => seen.push(o.label));
    m.observe({ service: "api", label: "injected", status: 200, bytesIn: 10, bytesOut: 20, seconds: 0.002 });
    m.observe({ service: "api", label: "injected", status: 502, bytesIn: 1, bytesOut: 2, seconds: 0.2 });
    m.connection("intercept");
    const text = m.renderPrometheus();
    expect(text).toContain('sluice_proxy_requests_total{service="api",decision="injected"} 2');
    expect(text).toContain('sluice_proxy_responses_total{service="api",code="5xx"} 1');
    expect(text).toContain('sluice_proxy_request_duration_seconds_bucket{service="api",decision="injected",le="0.0025"} 1');
    expect(text).toContain('sluice_proxy_request_duration_seconds_bucket{service="api",decision="injected",le="+Inf"} 2');
    expect(text).toContain('sluice_proxy_connections_total{outcome="intercept"} 1');
    expect(seen).toEqual(["injected", "injected"]);
  });
});
