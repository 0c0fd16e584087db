/**
 * The fast paths of loopback caller attestation, against real processes and the real kernel:
 * netlink sock_diag finds the same socket /proc/net/tcp does (IPv4, IPv6, an IPv6 socket on a
 * v4 connection, a wildcard listener), and the (port, inode) → pid cache is checked on every use:
 * when the cached process closes its descriptor, the socket's remaining holder is found instead.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import { clearSocketOwnerCache } from "../../../src/identity/socket-owner.ts";
import { attestLoopbackPeer, type LoopbackConnection } from "../../../src/identity/tcp-peer.ts";

const python = (() => {
  const r = Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"], { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
})();

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

/** A listener on `host`; `connect` is the python code run with PORT replaced; resolves with the first byte's socket. */
async function connectChild(host: string, code: string): Promise<{ socket: Socket; child: Bun.Subprocess<"pipe", "pipe", "inherit"> }> {
  let server: Server | undefined;
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer((socket) => socket.once("data", () => resolve(socket)));
  });
  await new Promise<void>((resolve) => server!.listen(0, host, resolve));
  const port = (server!.address() as { port: number }).port;
  const child = Bun.spawn([python!, "-c", code.replaceAll("PORT", String(port))], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  cleanups.push(() => {
    child.kill();
    server!.close();
  });
  return { socket: await accepted, child };
}

const tuple = (s: Socket, withLocal = true): LoopbackConnection => ({
  remoteAddress: s.remoteAddress!,
  remotePort: s.remotePort!,
  ...(withLocal ? { localAddress: s.localAddress! } : {}),
  localPort: s.localPort!,
});

function bothWays(c: LoopbackConnection) {
  clearSocketOwnerCache();
  const diag = attestLoopbackPeer(c, undefined, "sock-diag");
  clearSocketOwnerCache();
  const procNet = attestLoopbackPeer(c, undefined, "proc-net");
  return { diag, procNet };
}

describe.skipIf(!python)("sock_diag and /proc/net/tcp agree", () => {
  const stay = `import socket,sys; s=CONNECT; s.send(b"1"); sys.stdin.read()`;
  for (const [name, host, connect] of [
    ["IPv4", "127.0.0.1", `socket.create_connection(("127.0.0.1",PORT))`],
    ["IPv6", "::1", `socket.create_connection(("::1",PORT))`],
    ["an IPv6 socket on a v4 connection (::ffff:127.0.0.1)", "127.0.0.1", `(lambda x: (x.connect(("::ffff:127.0.0.1",PORT)), x)[1])(socket.socket(socket.AF_INET6))`],
  ] as const) {
    test(name, async () => {
      const { socket, child } = await connectChild(host, stay.replace("CONNECT", connect));
      const { diag, procNet } = bothWays(tuple(socket));
      expect(diag).toMatchObject({ pid: child.pid, uid: process.getuid!() });
      expect(procNet).toEqual(diag!);
    });
  }

  test("a wildcard listener (no local address given): 127.0.0.1, and 127.0.0.5 through the fallback", async () => {
    const { socket, child } = await connectChild("0.0.0.0", stay.replace("CONNECT", `socket.create_connection(("127.0.0.1",PORT))`));
    expect(bothWays(tuple(socket, false)).diag?.pid).toBe(child.pid);
    const other = await connectChild("0.0.0.0", stay.replace("CONNECT", `socket.create_connection(("127.0.0.5",PORT))`));
    clearSocketOwnerCache();
    expect(attestLoopbackPeer(tuple(other.socket, false))?.pid).toBe(other.child.pid);
    // Told the exact local address, sock_diag alone finds it.
    expect(bothWays(tuple(other.socket)).diag?.pid).toBe(other.child.pid);
  });

  test("a closed connection: nothing", async () => {
    const { socket, child } = await connectChild("127.0.0.1", stay.replace("CONNECT", `socket.create_connection(("127.0.0.1",PORT))`));
    const c = tuple(socket);
    child.kill();
    await child.exited;
    expect(bothWays(c)).toEqual({ diag: undefined, procNet: undefined });
  });
});

describe.skipIf(!python)("the owner cache is checked on use", () => {
  test("after the cached process closes its descriptor, the remaining holder is found", async () => {
    // Parent connects; on the test's go it forks, closes its copy and prints the child's pid.
    const code = `import socket,os,sys,time
s=socket.create_connection(("127.0.0.1",PORT)); s.send(b"1"); s.recv(1)
pid=os.fork()
if pid == 0: time.sleep(30)
s.close(); print(pid, flush=True); sys.stdin.read()`;
    const { socket, child } = await connectChild("127.0.0.1", code);
    const c = tuple(socket);
    clearSocketOwnerCache();
    expect(attestLoopbackPeer(c)?.pid).toBe(child.pid);
    expect(attestLoopbackPeer(c)?.pid).toBe(child.pid); // from the cache
    socket.write("g");
    const reader = child.stdout.getReader();
    const grandchild = Number(new TextDecoder().decode((await reader.read()).value).trim());
    cleanups.push(() => process.kill(grandchild, "SIGKILL"));
    expect(grandchild).toBeGreaterThan(0);
    expect(attestLoopbackPeer(c)?.pid).toBe(grandchild);
  });
});
