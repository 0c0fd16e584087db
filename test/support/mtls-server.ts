/**
 * An HTTPS server that requires a client certificate, trusting only the PEM bundle it is given
 * (e.g. sluice's SPIFFE bundle). Built on node:tls with a minimal HTTP/1.1 answer, because Bun's
 * node:https and Bun.serve do not expose the client certificate. Every request is answered with
 * JSON naming the client certificate's URI SANs (and closes the connection), and recorded.
 */
import type { AddressInfo } from "node:net";
import { createServer, type TLSSocket } from "node:tls";

export interface MtlsServer {
  readonly port: number;
  /** URI SANs of the client certificate of each request. */
  readonly peers: string[][];
  stop(): Promise<void>;
}

const MAX_HEAD = 16 * 1024;

export async function startMtlsServer(o: { hostname: string; port?: number; certPem: string; keyPem: string; trustedCaPem: string }): Promise<MtlsServer> {
  const peers: string[][] = [];
  const sockets = new Set<TLSSocket>();
  const server = createServer({ cert: o.certPem, key: o.keyPem, ca: o.trustedCaPem, requestCert: true, rejectUnauthorized: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    // Read the certificate now: once the connection ends it is gone.
    const uris = (socket.getPeerCertificate()?.subjectaltname ?? "")
      .split(", ")
      .filter((n) => n.startsWith("URI:"))
      .map((n) => n.slice(4));
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) {
        if (head.length > MAX_HEAD) socket.destroy();
        return;
      }
      peers.push(uris);
      const path = head.split(" ")[1] ?? "";
      const body = JSON.stringify({ peer: uris, path, authorized: socket.authorized });
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.hostname, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    peers,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
