#!/usr/bin/env bun
/**
 * Loopback caller attestation (`attestLoopbackPeer`, paid on every registration and token request
 * from a local process): median of 50 calls each for the /proc/net/tcp lookup + fd scan (the
 * previous method, the baseline), sock_diag + fd scan (a new connection), and sock_diag + the
 * validated owner cache (a keep-alive connection). A python child holds the connection.
 * Run: `bun bench/index.ts tcp-peer`.
 */
import { createServer, type Socket } from "node:net";
import { clearSocketOwnerCache } from "../src/identity/socket-owner.ts";
import { attestLoopbackPeer, type LoopbackConnection } from "../src/identity/tcp-peer.ts";

const CALLS = 50;

function median(f: () => unknown, before: () => void = () => {}): number {
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    before();
    const start = performance.now();
    f();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[CALLS / 2]!;
}

let server: ReturnType<typeof createServer> | undefined;
const accepted = new Promise<Socket>((resolve) => {
  server = createServer(resolve);
});
await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
const port = (server!.address() as { port: number }).port;
const child = Bun.spawn(["python3", "-c", `import socket,sys; s=socket.create_connection(("127.0.0.1",${port})); sys.stdin.read()`], { stdin: "pipe" });
const socket = await accepted;
const c: LoopbackConnection = { remoteAddress: socket.remoteAddress!, remotePort: socket.remotePort!, localAddress: socket.localAddress!, localPort: socket.localPort! };
if (attestLoopbackPeer(c)?.pid !== child.pid) throw new Error("attestation did not find the child");

const procNet = median(() => attestLoopbackPeer(c, undefined, "proc-net"), clearSocketOwnerCache);
const diagScan = median(() => attestLoopbackPeer(c, undefined, "sock-diag"), clearSocketOwnerCache);
attestLoopbackPeer(c);
const diagCached = median(() => attestLoopbackPeer(c, undefined, "sock-diag"));

const ms = (x: number) => `${x.toFixed(3)} ms`;
console.log(`median of ${CALLS} calls`);
console.log(`  /proc/net/tcp + fd scan (baseline)  ${ms(procNet)}`);
console.log(`  sock_diag + fd scan (new connection) ${ms(diagScan)}  ${(procNet / diagScan).toFixed(1)}x faster`);
console.log(`  sock_diag + cached owner (keep-alive) ${ms(diagCached)}  ${(procNet / diagCached).toFixed(1)}x faster`);
child.kill();
socket.destroy();
server!.close();
process.exit(0);
