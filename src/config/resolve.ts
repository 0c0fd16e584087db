import { isAbsolute, join } from "node:path";
import { ConfigError } from "../errors/index.ts";
import { trustDomainProblem } from "../identity/index.ts";
import { formatHostPort, isLoopbackHost, parseHostPort } from "./address.ts";
import { formatDuration, parseDuration } from "../schema/index.ts";
import { DEFAULTS, type FederationEntry, type RawConfig } from "./defaults.ts";
import type { ConfigOrigin, SluiceConfig } from "./types.ts";

export interface ConfigLayer {
  readonly origin: ConfigOrigin;
  readonly raw: RawConfig;
}

/** Merges layers over the defaults (later layers win), derives issuer/audit.file, checks semantics. */
export function resolveConfig(layers: readonly ConfigLayer[]): { config: SluiceConfig; origins: Record<string, ConfigOrigin> } {
  const merged: Record<string, unknown> = structuredClone(DEFAULTS);
  const origins: Record<string, ConfigOrigin> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.raw)) {
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        const target = merged[key] as Record<string, unknown>;
        for (const [sub, subValue] of Object.entries(value)) {
          if (subValue === undefined) continue;
          target[sub] = subValue;
          origins[`${key}.${sub}`] = layer.origin;
        }
      } else if (value !== undefined) {
        merged[key] = value;
        origins[key] = layer.origin;
      }
    }
  }
  const m = merged as typeof DEFAULTS;
  const where = (field: string) => `${field} (from ${origins[field] ?? "default"})`;

  const tdProblem = trustDomainProblem(m.trustDomain);
  if (tdProblem) throw new ConfigError(`${where("trustDomain")}: "${m.trustDomain}" is not a valid SPIFFE trust domain: ${tdProblem.message}`);
  const listen = parseHostPort(m.listen, where("listen"));
  const hasTls = m.tls.certFile !== null || m.tls.keyFile !== null;
  if (hasTls && (m.tls.certFile === null || m.tls.keyFile === null)) {
    throw new ConfigError("tls: set both certFile and keyFile, or neither");
  }
  if (!hasTls && !isLoopbackHost(listen.host)) {
    throw new ConfigError(`${where("listen")}: ${m.listen} is not a loopback address, so it needs HTTPS: set tls.certFile and tls.keyFile (or listen on 127.0.0.1)`);
  }
  parseHostPort(m.proxy.listen, where("proxy.listen"));
  if (m.proxy.explicit !== null) parseHostPort(m.proxy.explicit, where("proxy.explicit"));
  if (m.metrics.listen !== null) parseHostPort(m.metrics.listen, where("metrics.listen"));
  for (const field of ["dataDir", "policyDir", "workloadSocket"] as const) {
    if (!isAbsolute(m[field])) throw new ConfigError(`${where(field)}: "${m[field]}" must be an absolute path`);
  }
  for (const field of ["certFile", "keyFile"] as const) {
    const v = m.tls[field];
    if (v !== null && !isAbsolute(v)) throw new ConfigError(`${where(`tls.${field}`)}: "${v}" must be an absolute path`);
  }
  if (m.kernel.cgroup !== null && !isAbsolute(m.kernel.cgroup)) throw new ConfigError(`${where("kernel.cgroup")}: "${m.kernel.cgroup}" must be an absolute path`);
  if (!isAbsolute(m.kernel.pinDir)) throw new ConfigError(`${where("kernel.pinDir")}: "${m.kernel.pinDir}" must be an absolute path`);
  if (m.audit.file !== null && !isAbsolute(m.audit.file)) throw new ConfigError(`${where("audit.file")}: "${m.audit.file}" must be an absolute path`);
  if (m.policy.reloadDebounceMs < 10 || m.policy.reloadDebounceMs > 10_000) {
    throw new ConfigError(`${where("policy.reloadDebounceMs")}: ${m.policy.reloadDebounceMs} is out of range (10-10000)`);
  }

  const ca = resolveCa(m.ca, where);
  if (m.proxy.upstreamCaFile !== null && !isAbsolute(m.proxy.upstreamCaFile)) throw new ConfigError(`${where("proxy.upstreamCaFile")}: "${m.proxy.upstreamCaFile}" must be an absolute path`);
  const d = (section: "oauth" | "users" | "broker", field: string, min: number, max: number) =>
    durationField((m[section] as Record<string, string>)[field]!, where(`${section}.${field}`), min, max);
  const oauth: SluiceConfig["oauth"] = {
    accessTokenTtlSeconds: d("oauth", "accessTokenTtl", 30, 86_400),
    refreshTokenTtlSeconds: d("oauth", "refreshTokenTtl", 60, 365 * 86_400),
    codeTtlSeconds: d("oauth", "codeTtl", 10, 600),
    idTokenTtlSeconds: d("oauth", "idTokenTtl", 30, 86_400),
    signingKeyTtlSeconds: d("oauth", "signingKeyTtl", 3_600, 365 * 86_400),
    clientIdleExpirySeconds: d("oauth", "clientIdleExpiry", 3_600, 10 * 365 * 86_400),
    mtlsListen: m.oauth.mtlsListen === null ? null : formatHostPort(parseHostPort(m.oauth.mtlsListen, where("oauth.mtlsListen"))),
  };
  if (!/^spiffe:\/\/\{trustDomain\}\/.*\{name\}/.test(m.users.spiffeIdTemplate)) {
    throw new ConfigError(`${where("users.spiffeIdTemplate")}: "${m.users.spiffeIdTemplate}" must start with spiffe://{trustDomain}/ and contain {name}`);
  }
  const users: SluiceConfig["users"] = {
    spiffeIdTemplate: m.users.spiffeIdTemplate,
    sessionIdleSeconds: d("users", "sessionIdle", 60, 30 * 86_400),
    sessionAbsoluteSeconds: d("users", "sessionAbsolute", 300, 90 * 86_400),
    enrollmentTtlSeconds: d("users", "enrollmentTtl", 60, 7 * 86_400),
  };
  if (users.sessionIdleSeconds > users.sessionAbsoluteSeconds) throw new ConfigError(`${where("users.sessionIdle")}: longer than users.sessionAbsolute`);
  const broker: SluiceConfig["broker"] = { refreshAheadSeconds: d("broker", "refreshAhead", 5, 86_400) };
  const federation = resolveFederation(m.federation ?? [], m.trustDomain);

  const issuer = m.issuer ?? derivedIssuer(listen, hasTls);
  checkIssuer(issuer, where("issuer"));

  const config: SluiceConfig = {
    trustDomain: m.trustDomain,
    issuer,
    listen: m.listen,
    tls: { ...m.tls },
    dataDir: m.dataDir,
    policyDir: m.policyDir,
    workloadSocket: m.workloadSocket,
    proxy: { ...m.proxy },
    metrics: { ...m.metrics },
    kernel: {
      enabled: m.kernel.enabled,
      cgroup: m.kernel.cgroup,
      pinDir: m.kernel.pinDir,
      interfaces: resolveInterfaces(m.kernel.interfaces, where("kernel.interfaces")),
      rescanIntervalSeconds: durationField(m.kernel.rescanInterval, where("kernel.rescanInterval"), 1, 3_600),
    },
    log: { ...m.log },
    audit: { file: m.audit.file ?? join(m.dataDir, "audit.jsonl") },
    policy: { ...m.policy },
    ca,
    oauth,
    users,
    broker,
    federation,
  };
  return { config: deepFreeze(config), origins };
}

function resolveCa(raw: typeof DEFAULTS.ca, where: (f: string) => string): SluiceConfig["ca"] {
  const ttlSeconds = durationField(raw.ttl, where("ca.ttl"), 3_600, 10 * 365 * 86_400);
  const overlapSeconds = raw.overlap === null ? Math.floor(ttlSeconds / 6) : durationField(raw.overlap, where("ca.overlap"), 60, ttlSeconds - 60);
  const { intermediateCertFile: certFile, intermediateKeyFile: keyFile } = raw;
  if ((certFile === null) !== (keyFile === null)) throw new ConfigError("ca: set both intermediateCertFile and intermediateKeyFile, or neither");
  for (const [field, v] of [["ca.intermediateCertFile", certFile], ["ca.intermediateKeyFile", keyFile]] as const) {
    if (v !== null && !isAbsolute(v)) throw new ConfigError(`${where(field)}: "${v}" must be an absolute path`);
  }
  return { ttlSeconds, overlapSeconds, intermediate: certFile !== null && keyFile !== null ? { certFile, keyFile } : null };
}

/** A list in sluice.yaml; a comma-separated string from SLUICE_KERNEL_INTERFACES ("" or "none" = none, "off" = null handled by env). */
function resolveInterfaces(value: readonly string[] | string | null, field: string): readonly string[] | null {
  if (value === null) return null;
  const names = typeof value === "string" ? value.split(",").map((v) => v.trim()).filter((v) => v !== "") : [...value];
  for (const name of names) {
    if (name.length > 15 || !/^[^\s/:]+$/.test(name)) throw new ConfigError(`${field}: "${name}" is not an interface name`);
  }
  return names;
}

function durationField(text: string, field: string, min: number, max: number): number {
  const seconds = parseDuration(text);
  if (seconds === undefined) throw new ConfigError(`${field}: "${text}" is not a duration (e.g. 90s, 5m, 12h, 30d)`);
  if (seconds < min || seconds > max) throw new ConfigError(`${field}: ${text} is out of range (${formatDuration(min)} to ${formatDuration(max)})`);
  return seconds;
}

function resolveFederation(entries: readonly FederationEntry[], ownTrustDomain: string): SluiceConfig["federation"] {
  const seen = new Set<string>();
  return entries.map((e, i) => {
    const field = `federation[${i}]`;
    const problem = trustDomainProblem(e.trustDomain);
    if (problem) throw new ConfigError(`${field}.trustDomain: "${e.trustDomain}": ${problem.message}`);
    if (e.trustDomain === ownTrustDomain) throw new ConfigError(`${field}: ${e.trustDomain} is this host's own trust domain; federation lists other trust domains`);
    if (seen.has(e.trustDomain)) throw new ConfigError(`${field}: ${e.trustDomain} is listed twice`);
    seen.add(e.trustDomain);
    return { trustDomain: e.trustDomain, bundleFile: e.bundleFile ?? null, bundleEndpoint: e.bundleEndpoint ?? null };
  });
}

/**
 * The issuer when none is set. On 127.0.0.1 it names `localhost`: WebAuthn needs a host name as the
 * relying-party ID (an IP address is refused), and `localhost` is a secure context over plain http,
 * so passkey login works on the defaults.
 */
export function derivedIssuer(listen: { host: string; port: number }, tls: boolean): string {
  const host = listen.host === "127.0.0.1" ? "localhost" : listen.host;
  return `${tls ? "https" : "http"}://${formatHostPort({ host, port: listen.port })}`;
}

/** RFC 8414 §2: the issuer is an https URL with no query or fragment (http allowed on loopback). */
function checkIssuer(issuer: string, field: string): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new ConfigError(`${field}: "${issuer}" is not a URL`);
  }
  if (url.search || url.hash) throw new ConfigError(`${field}: "${issuer}" must not have a query or fragment (RFC 8414 §2)`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(host))) {
    throw new ConfigError(`${field}: "${issuer}" must use https (http only on loopback)`);
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
