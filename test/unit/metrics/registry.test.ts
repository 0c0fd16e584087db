import { describe, expect, test } from "bun:test";
import { MAX_SERIES_PER_METRIC, MetricsRegistry, startMetricsListener } from "../../../src/metrics/index.ts";

describe("metrics registry", () => {
  test("counters, gauges and histograms render in the Prometheus text format", () => {
    const r = new MetricsRegistry();
    const c = r.counter("sluice_requests_total", "Requests");
    c.inc({ service: "mcp", decision: "injected" });
    c.inc({ service: "mcp", decision: "injected" }, 2);
    r.gauge("sluice_up", "Up").set(1);
    const h = r.histogram("sluice_latency_seconds", "Latency", [0.001, 0.01]);
    h.observe(0.0005, { service: "mcp" });
    h.observe(0.005, { service: "mcp" });
    h.observe(1, { service: "mcp" });
    expect(r.render()).toBe(
      [
        "# HELP sluice_requests_total Requests",
        "# TYPE sluice_requests_total counter",
        'sluice_requests_total{service="mcp",decision="injected"} 3',
        "# HELP sluice_up Up",
        "# TYPE sluice_up gauge",
        "sluice_up 1",
        "# HELP sluice_latency_seconds Latency",
        "# TYPE sluice_latency_seconds histogram",
        'sluice_latency_seconds_bucket{service="mcp",le="0.001"} 1',
        'sluice_latency_seconds_bucket{service="mcp",le="0.01"} 2',
        'sluice_latency_seconds_bucket{service="mcp",le="+Inf"} 3',
        'sluice_latency_seconds_sum{service="mcp"} 1.0055',
        'sluice_latency_seconds_count{service="mcp"} 3',
        "",
      ].join("\n"),
    );
  });
  test("label values are escaped; bad names and decreasing counters are refused", () => {
    const r = new MetricsRegistry();
    r.counter("x_total", "X").inc({ path: 'a"b\\c\nd' });
    expect(r.render()).toContain('x_total{path="a\\"b\\\\c\\nd"} 1');
    expect(() => r.counter("bad name", "")).toThrow(/invalid metric name/);
    expect(() => r.counter("y_total", "").inc({ "bad-label": "v" })).toThrow(/invalid label name/);
    expect(() => r.counter("z_total", "").inc({}, -1)).toThrow(/only goes up/);
    expect(() => r.gauge("x_total", "")).toThrow(/already registered as a counter/);
    expect(r.counter("x_total", "X").get({ path: 'a"b\\c\nd' })).toBe(1);
  });
  test("label sets are bounded: the excess folds into one overflow series", () => {
    const c = new MetricsRegistry().counter("many_total", "");
    for (let i = 0; i < MAX_SERIES_PER_METRIC + 50; i++) c.inc({ id: String(i) });
    expect(c.get({ overflow: "true" })).toBe(50);
    expect(c.render().split("\n").filter((l) => l.startsWith("many_total")).length).toBe(MAX_SERIES_PER_METRIC + 1);
  });
  test("the listener serves GET /metrics and nothing else", async () => {
    const r = new MetricsRegistry();
    r.counter("served_total", "S").inc();
    const l = startMetricsListener("127.0.0.1:0", r);
    try {
      const res = await fetch(l.url);
      expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
      expect(await res.text()).toContain("served_total 1");
      expect((await fetch(l.url.replace("/metrics", "/other"))).status).toBe(404);
      expect((await fetch(l.url, { method: "POST" })).status).toBe(404);
    } finally {
      await l.stop();
    }
  });
  test("a busy address is a clear error", async () => {
    const l = startMetricsListener("127.0.0.1:0", new MetricsRegistry());
    try {
      const port = new URL(l.url).port;
      expect(() => startMetricsListener(`127.0.0.1:${port}`, new MetricsRegistry())).toThrow(`metrics.listen 127.0.0.1:${port}: the address is in use`);
    } finally {
      await l.stop();
    }
  });
});
