import { isIP } from "node:net";
import { ConfigError } from "../errors/index.ts";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port` or `[v6]:port`; port 0 is allowed (pick a free port, used by tests). */
export function parseHostPort(value: string, field: string): HostPort {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(value) ?? /^([^:\s\[\]]+):(\d{1,5})$/.exec(value);
  if (!m) throw new ConfigError(`${field}: "${value}" is not host:port (e.g. 127.0.0.1:8443 or [::1]:8443)`);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(`${field}: port ${port} is out of range (0-65535)`);
  return { host: m[1]!, port };
}

export function isLoopbackHost(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
