/**
 * `listen: host:0` (tests, throwaway instances) must become a real port before anything is built:
 * the issuer URL, which every OAuth document and token names, is derived from it.
 */
import { derivedIssuer, formatHostPort, parseHostPort, type LoadedConfig } from "../config/index.ts";

export function withConcreteListenPort(loaded: LoadedConfig): LoadedConfig {
  return withConcreteProxyPort(withConcreteAsPort(loaded));
}

/**
 * The kernel redirects to one fixed port on 127.0.0.1 and ::1: `proxy.listen: host:0` picks a port
 * free on both now.
 */
function withConcreteProxyPort(loaded: LoadedConfig): LoadedConfig {
  const listen = parseHostPort(loaded.config.proxy.listen, "proxy.listen");
  if (listen.port !== 0) return loaded;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = freePort(listen.host);
    try {
      Bun.listen({ hostname: "::1", port, socket: { data() {} } }).stop(true);
    } catch {
      continue; // taken on ::1 (or no IPv6 loopback: then the proxy says so when it listens)
    }
    return { ...loaded, config: Object.freeze({ ...loaded.config, proxy: Object.freeze({ ...loaded.config.proxy, listen: formatHostPort({ host: listen.host, port }) }) }) };
  }
  return loaded;
}

function freePort(host: string): number {
  const probe = Bun.listen({ hostname: host, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

function withConcreteAsPort(loaded: LoadedConfig): LoadedConfig {
  const listen = parseHostPort(loaded.config.listen, "listen");
  if (listen.port !== 0) return loaded;
  const port = freePort(listen.host);
  const concrete = { host: listen.host, port };
  const issuerIsDerived = loaded.origins["issuer"] === undefined;
  const hasTls = loaded.config.tls.certFile !== null;
  const config = Object.freeze({
    ...loaded.config,
    listen: formatHostPort(concrete),
    issuer: issuerIsDerived ? derivedIssuer(concrete, hasTls) : loaded.config.issuer,
  });
  return { ...loaded, config };
}
