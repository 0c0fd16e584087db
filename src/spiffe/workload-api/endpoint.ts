/**
 * Locating the Workload Endpoint (SPIFFE Workload Endpoint §4): an explicitly configured socket
 * wins; otherwise `SPIFFE_ENDPOINT_SOCKET`; otherwise sluice's configured `workloadSocket`.
 */
import { ConfigError } from "../../errors/index.ts";

export const SPIFFE_ENDPOINT_SOCKET = "SPIFFE_ENDPOINT_SOCKET";

export interface ResolvedEndpoint {
  /** Absolute path of the unix socket. */
  path: string;
  source: "explicit" | "env" | "config";
}

export function resolveWorkloadEndpoint(options: { explicit?: string; env?: Record<string, string | undefined>; configSocket?: string }): ResolvedEndpoint {
  if (options.explicit) return { path: parseEndpoint(options.explicit, "the socket given", true), source: "explicit" };
  const fromEnv = (options.env ?? process.env)[SPIFFE_ENDPOINT_SOCKET];
  if (fromEnv) return { path: parseEndpoint(fromEnv, SPIFFE_ENDPOINT_SOCKET, false), source: "env" };
  if (options.configSocket) return { path: parseEndpoint(options.configSocket, "workloadSocket", true), source: "config" };
  throw new ConfigError(`no Workload API socket: set ${SPIFFE_ENDPOINT_SOCKET}=unix:///path/to/workload.sock or workloadSocket in the config`);
}

/**
 * `unix:///abs/path` or `unix:/abs/path` → `/abs/path` (§4: scheme and path mandatory, no authority,
 * nothing else). A bare absolute path is accepted where `allowBarePath` (config values, flags), not
 * in the environment variable, which the spec defines as a URI.
 */
export function parseEndpoint(value: string, what: string, allowBarePath: boolean): string {
  if (allowBarePath && value.startsWith("/")) return value;
  if (/^tcp:/i.test(value)) throw new ConfigError(`${what} is ${JSON.stringify(value)}: sluice serves the Workload API on a unix socket only (use unix:///path)`);
  if (!/^unix:/i.test(value)) throw new ConfigError(`${what} is ${JSON.stringify(value)}: expected a unix:///path URI (SPIFFE Workload Endpoint §4)`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${what} is ${JSON.stringify(value)}: not a valid URI`);
  }
  if (url.host !== "" || url.username !== "" || url.password !== "" || url.port !== "") throw new ConfigError(`${what} is ${JSON.stringify(value)}: a unix URI must not have an authority (use unix:///path)`);
  if (url.search !== "" || url.hash !== "") throw new ConfigError(`${what} is ${JSON.stringify(value)}: a unix URI must not have a query or fragment`);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw new ConfigError(`${what} is ${JSON.stringify(value)}: bad percent-encoding in the path`);
  }
  if (!path.startsWith("/")) throw new ConfigError(`${what} is ${JSON.stringify(value)}: the socket path must be absolute`);
  return path;
}
