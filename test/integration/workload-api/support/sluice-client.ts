/**
 * sluice's own Workload API client, run as a separate process like `sluice svid` would be:
 * finds the socket through SPIFFE_ENDPOINT_SOCKET and prints one JSON line.
 * usage: sluice-client.ts x509 [DIR] | jwt AUDIENCE
 */
import { fetchJwtSvid, fetchX509Svid, resolveWorkloadEndpoint, writeX509Files } from "../../../../src/spiffe/workload-api/index.ts";

const [command, arg] = process.argv.slice(2);
try {
  const { path, source } = resolveWorkloadEndpoint({ env: process.env, configSocket: "/nonexistent/workload.sock" });
  if (command === "x509") {
    const svid = await fetchX509Svid(path);
    const files = arg ? writeX509Files(arg, svid) : [];
    console.log(JSON.stringify({ ok: true, source, pid: process.pid, spiffeId: svid.spiffeId, expiresAt: svid.expiresAt, files }));
  } else {
    const jwt = await fetchJwtSvid(path, arg ?? "");
    console.log(JSON.stringify({ ok: true, source, spiffeId: jwt.spiffeId, token: jwt.token }));
  }
} catch (err) {
  const e = err as { code?: string; message?: string };
  console.log(JSON.stringify({ ok: false, code: e.code, message: e.message }));
}
