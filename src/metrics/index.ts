/**
 * Metrics: `MetricsRegistry` (counter, gauge, histogram with bounded label sets) rendered in the
 * Prometheus text format, and `startMetricsListener(listen, registry)` serving GET /metrics on
 * `metrics.listen` (loopback by default). Each part of sluice registers its own metrics.
 */
export { Counter, DEFAULT_SECONDS_BUCKETS, Gauge, Histogram, MAX_SERIES_PER_METRIC, MetricsRegistry, type Labels } from "./registry.ts";
export { startMetricsListener, type MetricsListener } from "./listener.ts";
