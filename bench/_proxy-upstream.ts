/** bench/proxy.ts's upstream: a TLS origin answering ~200 bytes (run as its own process). Args: certFile keyFile */
import { readFileSync } from "node:fs";
const body = JSON.stringify({ ok: true, pad: "x".repeat(170) });
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  tls: { cert: readFileSync(process.argv[2]!, "utf8"), key: readFileSync(process.argv[3]!, "utf8") },
  fetch: (req) => new Response(req.headers.get("authorization") === "Bearer upstream-secret" ? body : "no token", { headers: { "content-type": "application/json" } }),
});
console.log(JSON.stringify({ port: server.port }));
