/**
 * `listen: host:0` (tests, throwaway instances) must become a real port before anything is built:
 * the issuer URL, which every OAuth document and token names, is derived from it.
 */
import { derivedIssuer, formatHostPort, parseHostPort, type LoadedConfig } from "../config/index.ts";

export function withConcreteListenPort(loaded: LoadedConfig): LoadedConfig {
  const listen = parseHostPort(loaded.config.listen, "listen");
  if (listen.port !== 0) return loaded;
  const probe = Bun.listen({ hostname: listen.host, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
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
