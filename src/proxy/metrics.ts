/**
 * Per-request counters of the proxy, per (Service, decision label): requests, bytes each way and
 * a latency histogram (head received → response end), rendered as Prometheus text (exposition
 * format 0.0.4). Connection-level counters: accepted, refused (by reason), passthrough.
 */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Series {
  requests: number;
  bytesIn: number;
  bytesOut: number;
  sum: number;
  buckets: number[];
}

export interface RequestObservation {
  readonly service: string;
  readonly label: string;
  readonly status: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly seconds: number;
}

export type RequestHook = (o: RequestObservation) => void;

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export class ProxyMetrics {
  readonly #series = new Map<string, Series & { service: string; label: string }>();
  readonly #statuses = new Map<string, number>();
  readonly #connections = new Map<string, number>();
  readonly #hooks = new Set<RequestHook>();

  /** Called for every finished request (for audit or extra metrics). Returns an unsubscribe. */
  onRequest(hook: RequestHook): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  observe(o: RequestObservation): void {
    const key = `${o.service}\u0000${o.label}`;
    let s = this.#series.get(key);
    if (!s) this.#series.set(key, (s = { service: o.service, label: o.label, requests: 0, bytesIn: 0, bytesOut: 0, sum: 0, buckets: BUCKETS.map(() => 0) }));
    s.requests++;
    s.bytesIn += o.bytesIn;
    s.bytesOut += o.bytesOut;
    s.sum += o.seconds;
    for (let i = 0; i < BUCKETS.length; i++) if (o.seconds <= BUCKETS[i]!) s.buckets[i]!++;
    const sk = `${o.service}\u0000${Math.floor(o.status / 100)}xx`;
    this.#statuses.set(sk, (this.#statuses.get(sk) ?? 0) + 1);
    for (const h of this.#hooks) h(o);
  }

  connection(outcome: string): void {
    this.#connections.set(outcome, (this.#connections.get(outcome) ?? 0) + 1);
  }

  requests(service: string, label: string): number {
    return this.#series.get(`${service}\u0000${label}`)?.requests ?? 0;
  }

  connections(outcome: string): number {
    return this.#connections.get(outcome) ?? 0;
  }

  renderPrometheus(): string {
    const out: string[] = [];
    out.push("# HELP sluice_proxy_connections_total Connections accepted by the proxy, by outcome.", "# TYPE sluice_proxy_connections_total counter");
    for (const [k, v] of this.#connections) out.push(`sluice_proxy_connections_total{outcome="${esc(k)}"} ${v}`);
    out.push("# HELP sluice_proxy_requests_total Requests relayed, by Service and decision.", "# TYPE sluice_proxy_requests_total counter");
    for (const s of this.#series.values()) out.push(`sluice_proxy_requests_total{service="${esc(s.service)}",decision="${esc(s.label)}"} ${s.requests}`);
    out.push("# HELP sluice_proxy_responses_total Responses, by Service and status class.", "# TYPE sluice_proxy_responses_total counter");
    for (const [k, v] of this.#statuses) {
      const [svc, cls] = k.split("\u0000");
      out.push(`sluice_proxy_responses_total{service="${esc(svc!)}",code="${cls}"} ${v}`);
    }
    out.push("# HELP sluice_proxy_request_bytes_total Bytes from the agent, by Service and decision.", "# TYPE sluice_proxy_request_bytes_total counter");
    for (const s of this.#series.values()) out.push(`sluice_proxy_request_bytes_total{service="${esc(s.service)}",decision="${esc(s.label)}"} ${s.bytesIn}`);
    out.push("# HELP sluice_proxy_response_bytes_total Bytes to the agent, by Service and decision.", "# TYPE sluice_proxy_response_bytes_total counter");
    for (const s of this.#series.values()) out.push(`sluice_proxy_response_bytes_total{service="${esc(s.service)}",decision="${esc(s.label)}"} ${s.bytesOut}`);
    out.push("# HELP sluice_proxy_request_duration_seconds Request head received to response end.", "# TYPE sluice_proxy_request_duration_seconds histogram");
    for (const s of this.#series.values()) {
      const l = `service="${esc(s.service)}",decision="${esc(s.label)}"`;
      BUCKETS.forEach((b, i) => out.push(`sluice_proxy_request_duration_seconds_bucket{${l},le="${b}"} ${s.buckets[i]}`));
      out.push(`sluice_proxy_request_duration_seconds_bucket{${l},le="+Inf"} ${s.requests}`);
      out.push(`sluice_proxy_request_duration_seconds_sum{${l}} ${s.sum}`);
      out.push(`sluice_proxy_request_duration_seconds_count{${l}} ${s.requests}`);
    }
    return out.join("\n") + "\n";
  }
}
