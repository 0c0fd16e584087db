/**
 * Per-request counters of the proxy, per (Service, decision label): requests, bytes each way and
 * a latency histogram (head received → response end), rendered as Prometheus text (exposition
 * format 0.0.4). Connection-level counters: accepted, refused (by reason), passthrough.
 */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One (Service, decision label) series. Bucket counts are per bucket here, cumulative when rendered. */
export interface RequestSeries {
  readonly service: string;
  readonly label: string;
  requests: number;
  bytesIn: number;
  bytesOut: number;
  sum: number;
  readonly buckets: number[];
  /** Responses by status class: index 1 = 1xx … 5 = 5xx, 0 = anything else. */
  readonly classes: number[];
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
  readonly #series = new Map<string, RequestSeries>();
  readonly #connections = new Map<string, number>();
  readonly #hooks = new Set<RequestHook>();

  /** Called for every finished request (for audit or extra metrics). Returns an unsubscribe. */
  onRequest(hook: RequestHook): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  /** The series for (service, label), created on first use; sessions keep it to skip the lookup per request. */
  series(service: string, label: string): RequestSeries {
    const key = `${service}\u0000${label}`;
    let s = this.#series.get(key);
    if (!s) this.#series.set(key, (s = { service, label, requests: 0, bytesIn: 0, bytesOut: 0, sum: 0, buckets: BUCKETS.map(() => 0), classes: [0, 0, 0, 0, 0, 0] }));
    return s;
  }

  observe(o: RequestObservation): void {
    this.record(this.series(o.service, o.label), o.status, o.bytesIn, o.bytesOut, o.seconds);
  }

  /** `observe` for a series already looked up (the per-request path: no key string, no observation object unless hooked). */
  record(s: RequestSeries, status: number, bytesIn: number, bytesOut: number, seconds: number): void {
    s.requests++;
    s.bytesIn += bytesIn;
    s.bytesOut += bytesOut;
    s.sum += seconds;
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    if (i < BUCKETS.length) s.buckets[i]!++;
    const cls = (status / 100) | 0;
    s.classes[cls >= 1 && cls <= 5 ? cls : 0]!++;
    if (this.#hooks.size > 0) {
      const o: RequestObservation = { service: s.service, label: s.label, status, bytesIn, bytesOut, seconds };
      for (const h of this.#hooks) h(o);
    }
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
    const statuses = new Map<string, number>();
    for (const s of this.#series.values())
      s.classes.forEach((n, c) => {
        if (n === 0) return;
        const k = `${s.service}\u0000${c === 0 ? "0xx" : `${c}xx`}`;
        statuses.set(k, (statuses.get(k) ?? 0) + n);
      });
    for (const [k, v] of statuses) {
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
      let cumulative = 0;
      BUCKETS.forEach((b, i) => out.push(`sluice_proxy_request_duration_seconds_bucket{${l},le="${b}"} ${(cumulative += s.buckets[i]!)}`));
      out.push(`sluice_proxy_request_duration_seconds_bucket{${l},le="+Inf"} ${s.requests}`);
      out.push(`sluice_proxy_request_duration_seconds_sum{${l}} ${s.sum}`);
      out.push(`sluice_proxy_request_duration_seconds_count{${l}} ${s.requests}`);
    }
    return out.join("\n") + "\n";
  }
}
