/**
 * Local caller attestation for real: child processes (python, and bun as uid 65534) connect to a
 * loopback listener; `attestLoopbackPeer` finds their pid and uid from /proc. Then the same
 * through the registration endpoint: a registration from this process over loopback is attested
 * (the attest function maps this pid to a SPIFFE ID) and bound to it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { attestLoopbackPeer } from "../../../src/identity/tcp-peer.ts";
import { MCP_SDK_LIKE, openFixture, register, TD, type Fixture } from "./support.ts";

const isRoot = process.getuid?.() === 0;

function realPython(): string | undefined {
  const r = Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"], { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
}

/** Listens on `host`, lets `spawn` connect, and returns what attestation says about the accepted socket plus the child's own pid. */
async function attestChild(host: string, spawn: (port: number) => Bun.Subprocess, opts: { waitForByte?: boolean } = {}): Promise<{ peer: ReturnType<typeof attestLoopbackPeer>; child: number }> {
  let server: Server | undefined;
  // With waitForByte, the child says when it is ready (e.g. after forking) by sending one byte.
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer((socket) => (opts.waitForByte ? socket.once("data", () => resolve(socket)) : resolve(socket)));
  });
  await new Promise<void>((resolve) => server!.listen(0, host, resolve));
  const port = (server!.address() as { port: number }).port;
  const child = spawn(port);
  try {
    const socket = await accepted;
    const peer = attestLoopbackPeer({ remoteAddress: socket.remoteAddress!, remotePort: socket.remotePort!, localAddress: socket.localAddress!, localPort: socket.localPort! });
    socket.destroy();
    return { peer, child: child.pid };
  } finally {
    child.kill();
    await child.exited;
    server!.close();
  }
}

describe("attestLoopbackPeer", () => {
  const python = realPython();
  test.skipIf(!python)("a python child over 127.0.0.1: its pid and uid", async () => {
    const { peer, child } = await attestChild("127.0.0.1", (port) =>
      Bun.spawn([python!, "-c", `import socket,sys; s=socket.create_connection(("127.0.0.1",${port})); sys.stdin.read()`], { stdin: "pipe" }),
    );
    expect(peer).toMatchObject({ pid: child, uid: process.getuid!() });
  });
  test.skipIf(!python)("over IPv6 loopback ([::1])", async () => {
    const { peer, child } = await attestChild("::1", (port) =>
      Bun.spawn([python!, "-c", `import socket,sys; s=socket.create_connection(("::1",${port})); sys.stdin.read()`], { stdin: "pipe" }),
    );
    expect(peer?.pid).toBe(child);
  });
  test.skipIf(!isRoot)("a bun child running as uid 65534: that uid", async () => {
    const script = (port: number) => `await Bun.connect({ hostname: "127.0.0.1", port: ${port}, socket: { data() {} } }); setInterval(() => {}, 1000);`;
    const { peer, child } = await attestChild("127.0.0.1", (port) =>
      Bun.spawn([process.execPath, "-e", script(port)], { uid: 65534, gid: 65534, cwd: "/tmp", env: { PATH: "/usr/bin:/bin" } }),
    );
    expect(peer).toMatchObject({ pid: child, uid: 65534 });
  });
  test("no such connection: nothing, not a guess", () => {
    expect(attestLoopbackPeer({ remoteAddress: "127.0.0.1", remotePort: 1, localAddress: "127.0.0.1", localPort: 1 })).toBeUndefined();
  });
  test("a non-loopback remote address is never attested", () => {
    expect(attestLoopbackPeer({ remoteAddress: "192.0.2.1", remotePort: 5000, localPort: 443 })).toBeUndefined();
  });
  test.skipIf(!python)("a socket held by two processes (inherited across fork) is ambiguous: undefined", async () => {
    const code = `import socket,os,sys; s=socket.create_connection(("127.0.0.1",PORT)); pid=os.fork(); s.send(b"f") if pid else None; sys.stdin.read() if pid else __import__("time").sleep(30)`;
    const { peer } = await attestChild("127.0.0.1", (port) => Bun.spawn([python!, "-c", code.replace("PORT", String(port))], { stdin: "pipe" }), { waitForByte: true });
    expect(peer).toBeUndefined();
  });
});

describe("registration from an attested local process", () => {
  let f: Fixture;
  const seen: number[] = [];
  afterAll(() => f?.close());
  test("binds the client to the SPIFFE ID the attest function gives for this pid", async () => {
    f = await openFixture({
      attest: async (peer) => {
        seen.push(peer.pid);
        return peer.pid === process.pid ? `spiffe://${TD}/agent/test-runner` : undefined;
      },
    });
    const r = await register(f, MCP_SDK_LIKE);
    expect(r.status).toBe(201);
    expect(r.body.spiffe_id).toBe(`spiffe://${TD}/agent/test-runner`);
    expect(seen).toContain(process.pid);
    expect((await f.clients.registry.get(r.body.client_id as string))?.origin).toBe("attested");
    const contradicting = await register(f, { ...MCP_SDK_LIKE, spiffe_id: `spiffe://${TD}/someone-else` });
    expect(contradicting.body.error).toBe("invalid_client_metadata");
  });
});
