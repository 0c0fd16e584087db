/**
 * A real HTTPS upstream for the proxy tests (Bun.serve with a test-CA leaf on loopback): echoes
 * request headers, streams large and chunked bodies, Server-Sent Events, RFC 9728 metadata and a
 * 401 challenge.
 */
import type { Server } from "bun";
import type { TestCa } from "../../support/test-ca.ts";

export interface TestUpstream {
  readonly server: Server<undefined>;
  readonly port: number;
  /** Resolves the SSE stream's next event send (the test releases events one by one). */
  release(): void;
  /** Authorization headers seen, in order. */
  readonly seen: string[];
  stop(): void;
}

export function startUpstream(ca: TestCa, names: readonly string[], hostname = "127.0.0.1"): TestUpstream {
  const leaf = ca.leaf(names);
  const seen: string[] = [];
  let permits = 0;
  let wake: (() => void) | undefined;
  const nextPermit = async () => {
    while (permits === 0) await new Promise<void>((r) => (wake = r));
    permits--;
  };
  const server = Bun.serve({
    hostname,
    port: 0,
    tls: { cert: leaf.certPem, key: leaf.keyPem },
    idleTimeout: 30,
    maxRequestBodySize: 1 << 30,
    async fetch(req) {
      const url = new URL(req.url);
      seen.push(req.headers.get("authorization") ?? "");
      switch (url.pathname) {
        case "/echo":
          return Response.json({ method: req.method, headers: Object.fromEntries(req.headers), host: req.headers.get("host") });
        case "/upload": {
          let n = 0;
          const hash = new Bun.CryptoHasher("sha256");
          for await (const chunk of req.body!) {
            n += chunk.length;
            hash.update(chunk);
          }
          return Response.json({ bytes: n, sha256: hash.digest("hex") });
        }
        case "/download": {
          const total = Number(url.searchParams.get("bytes"));
          const block = new Uint8Array(64 * 1024).fill(97);
          let sent = 0;
          // A ReadableStream without a known length: sent chunked.
          return new Response(
            new ReadableStream({
              type: "direct",
              async pull(controller: { write(b: Uint8Array | string): void; flush(): Promise<void> | number; close(): void }) {
                while (sent < total) {
                  const n = Math.min(block.length, total - sent);
                  controller.write(block.subarray(0, n));
                  sent += n;
                  await controller.flush();
                }
                controller.close();
              },
            } as never),
            { headers: { "content-type": "application/octet-stream" } },
          );
        }
        case "/sse":
          return new Response(
            new ReadableStream({
              type: "direct",
              async pull(controller: { write(b: Uint8Array | string): void; flush(): Promise<void> | number; close(): void }) {
                // Headers go out with the first write: open with a comment line.
                controller.write(": open\n\n");
                await controller.flush();
                for (let i = 1; i <= 3; i++) {
                  await nextPermit();
                  controller.write(`id: ${i}\ndata: event ${i}\n\n`);
                  await controller.flush();
                }
                controller.close();
              },
            } as never),
            { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } },
          );
        case "/.well-known/oauth-protected-resource":
        case "/.well-known/oauth-protected-resource/mcp":
          return Response.json({ resource: `https://${req.headers.get("host")}${url.pathname.slice("/.well-known/oauth-protected-resource".length) || "/"}`, authorization_servers: ["https://real-as.example"], scopes_supported: ["mcp"] });
        case "/mcp":
          return new Response("need a token", { status: 401, headers: { "www-authenticate": `Bearer resource_metadata="https://${req.headers.get("host")}/.well-known/oauth-protected-resource/mcp", scope="mcp"` } });
        default:
          return new Response("not found", { status: 404 });
      }
    },
  });
  return {
    server: server as never,
    port: server.port!,
    seen,
    release: () => {
      permits++;
      const w = wake;
      wake = undefined;
      w?.();
    },
    stop: () => server.stop(true),
  };
}
