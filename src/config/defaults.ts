/**
 * Built-in defaults: `sluice serve` with no config file runs on these (DESIGN.md §1).
 * `issuer` and `audit.file` are derived from other fields when left unset.
 */
export const DEFAULT_CONFIG_PATH = "/etc/sluice/sluice.yaml";

export const DEFAULTS = {
  trustDomain: "sluice.local",
  issuer: null as string | null,
  listen: "127.0.0.1:8443",
  tls: { certFile: null as string | null, keyFile: null as string | null },
  dataDir: "/var/lib/sluice",
  policyDir: "/etc/sluice/policies",
  workloadSocket: "/run/sluice/workload.sock",
  proxy: { listen: "127.0.0.1:15001", explicit: null as string | null, upstreamCaFile: null as string | null },
  metrics: { listen: "127.0.0.1:9464" as string | null },
  kernel: { enabled: true, cgroup: null as string | null, pinDir: "/sys/fs/bpf/sluice", interfaces: null as string[] | string | null, rescanInterval: "60s" },
  log: { level: "info" as const, format: "json" as const },
  audit: { file: null as string | null },
  policy: { reloadDebounceMs: 100 },
  ca: { ttl: "30d", overlap: null as string | null, intermediateCertFile: null as string | null, intermediateKeyFile: null as string | null },
  oauth: {
    accessTokenTtl: "10m",
    refreshTokenTtl: "30d",
    codeTtl: "60s",
    idTokenTtl: "10m",
    signingKeyTtl: "30d",
    clientIdleExpiry: "30d",
    mtlsListen: null as string | null,
  },
  users: {
    spiffeIdTemplate: "spiffe://{trustDomain}/user/{name}",
    sessionIdle: "30m",
    sessionAbsolute: "12h",
    enrollmentTtl: "15m",
  },
  broker: { refreshAhead: "2m" },
  /** Other trust domains whose SVIDs sluice accepts (not overridable from the environment). */
  federation: [] as FederationEntry[],
};

/** A federated trust domain: its bundle from a file, or from a SPIFFE bundle endpoint (https). */
export interface FederationEntry {
  trustDomain: string;
  bundleFile?: string | null;
  bundleEndpoint?: string | null;
}

/** Fields that accept null ("off", or "derive it"); every other field needs a value. */
export const NULLABLE_FIELDS: ReadonlySet<string> = new Set([
  "issuer",
  "tls.certFile",
  "tls.keyFile",
  "proxy.explicit",
  "proxy.upstreamCaFile",
  "oauth.mtlsListen",
  "metrics.listen",
  "audit.file",
  "ca.overlap",
  "kernel.cgroup",
  "kernel.interfaces",
  "ca.intermediateCertFile",
  "ca.intermediateKeyFile",
]);

/** The raw (pre-derivation) shape: DEFAULTS with every field optional, as written in sluice.yaml. */
export type RawConfig = {
  -readonly [K in keyof typeof DEFAULTS]?: (typeof DEFAULTS)[K] extends Record<string, unknown>
    ? { -readonly [F in keyof (typeof DEFAULTS)[K]]?: (typeof DEFAULTS)[K][F] }
    : (typeof DEFAULTS)[K];
};
