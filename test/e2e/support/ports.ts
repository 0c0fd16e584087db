/** Ports free right now on loopback addresses (for processes that must know their port before they start). */

/** A port free on `host` right now. */
export function freePort(host: string): number {
  const probe = Bun.listen({ hostname: host, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** A port free on both 127.0.0.1 and ::1 (the proxy's redirect listener binds both). */
export function freeDualPort(): number {
  for (let i = 0; i < 20; i++) {
    const port = freePort("127.0.0.1");
    try {
      Bun.listen({ hostname: "::1", port, socket: { data() {} } }).stop(true);
      return port;
    } catch {
      // taken on ::1: try another
    }
  }
  throw new Error("no port free on both loopbacks");
}
