/**
 * A TLS upstream in its own process (so the test process's memory is the proxy's): `/download?bytes=N`
 * streams N bytes chunked, `/upload` counts and hashes the body. Args: certFile keyFile. Prints {port}.
 */
import { readFileSync } from "node:fs";

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  maxRequestBodySize: 1 << 30,
  tls: { cert: readFileSync(process.argv[2]!, "utf8"), key: readFileSync(process.argv[3]!, "utf8") },
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/upload") {
      let n = 0;
      const hash = new Bun.CryptoHasher("sha256");
      for await (const chunk of req.body!) {
        n += chunk.length;
        hash.update(chunk);
      }
      return Response.json({ bytes: n, sha256: hash.digest("hex") });
    }
    const total = Number(url.searchParams.get("bytes"));
    const block = new Uint8Array(64 * 1024).fill(97);
    let sent = 0;
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
    );
  },
});
console.log(JSON.stringify({ port: server.port }));
