/**
 * A TLS server that speaks no HTTP (node:tls, test-CA leaf): for each connection it reads one line
 * and answers `sha256:<hex of the exact bytes received>\n`, then closes. A client that gets the
 * hash of what it sent, over a handshake it verified against the test CA, knows the bytes went
 * through untouched and that nobody in between terminated TLS.
 */
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createServer } from "node:tls";

export interface TlsEchoServer {
  readonly port: number;
  /** Connections that completed a handshake. */
  connections: number;
  stop(): Promise<void>;
}

export async function startTlsEchoServer(o: { hostname: string; tls: { certPem: string; keyPem: string } }): Promise<TlsEchoServer> {
  const state = { connections: 0 };
  const server = createServer({ cert: o.tls.certPem, key: o.tls.keyPem }, (socket) => {
    state.connections++;
    let received = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.includes(10) || received.length > 64 * 1024) socket.end(`sha256:${createHash("sha256").update(received).digest("hex")}\n`);
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, o.hostname, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
