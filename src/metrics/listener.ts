import { parseHostPort } from "../config/index.ts";
import { SluiceError, errnoCode } from "../errors/index.ts";
import type { MetricsRegistry } from "./registry.ts";

export interface MetricsListener {
  readonly url: string;
  stop(): Promise<void>;
}

/** Serves `GET /metrics` (Prometheus text format) on `listen`; everything else is 404. */
export function startMetricsListener(listen: string, registry: MetricsRegistry): MetricsListener {
  const { host, port } = parseHostPort(listen, "metrics.listen");
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: host,
      port,
      maxRequestBodySize: 1024,
      idleTimeout: 30,
      fetch(request) {
        const url = new URL(request.url);
        if (request.method !== "GET" || url.pathname !== "/metrics") return new Response("not found: metrics are at GET /metrics\n", { status: 404 });
        return new Response(registry.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
      },
    });
  } catch (err) {
    const why = errnoCode(err) === "EADDRINUSE" ? "the address is in use" : (err as Error).message;
    throw new SluiceError("ERR_LISTEN", `metrics.listen ${listen}: ${why}; set metrics.listen (or null to turn metrics off)`, { cause: err });
  }
  const h = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${h}:${server.port}/metrics`,
    async stop() {
      await server.stop(true);
    },
  };
}
