import type { LogFormat, LogLevel } from "../log/index.ts";

/** The resolved configuration: every field has a value (defaults.ts). */
export interface SluiceConfig {
  /** SPIFFE trust domain, e.g. `acme.corp`. */
  readonly trustDomain: string;
  /** OAuth issuer URL; derived from `listen` (and `tls`) when not set. */
  readonly issuer: string;
  /** AS/admin HTTP(S) listener, `host:port`. */
  readonly listen: string;
  /** HTTPS for `listen`; required when `listen` is not loopback. */
  readonly tls: { readonly certFile: string | null; readonly keyFile: string | null };
  readonly dataDir: string;
  readonly policyDir: string;
  readonly workloadSocket: string;
  readonly proxy: {
    /** Loopback port the kernel redirects managed traffic to. */
    readonly listen: string;
    /** Optional HTTP CONNECT proxy for hosts without the kernel path; null = off. */
    readonly explicit: string | null;
    /** Extra PEM CA certificates trusted for upstream TLS, besides the system trust store; null = none. */
    readonly upstreamCaFile: string | null;
  };
  readonly metrics: { readonly listen: string | null };
  readonly kernel: {
    readonly enabled: boolean;
    /** cgroup v2 directory the programs attach to; null = the cgroup v2 root (every process on the host). */
    readonly cgroup: string | null;
    /** bpffs directory where programs, links and maps are pinned (enforcement survives a daemon crash). */
    readonly pinDir: string;
    /** Interfaces the TC egress and XDP ingress programs guard; null = every non-loopback interface, present and future. */
    readonly interfaces: readonly string[] | null;
    /** Every process is re-attested this often (what no kernel event reports: setuid() without exec, cgroup moves). */
    readonly rescanIntervalSeconds: number;
  };
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
  readonly audit: {
    /** JSON-lines mirror of the audit log; default `<dataDir>/audit.jsonl`. */
    readonly file: string;
  };
  readonly policy: {
    /** Quiet period after a change in the policy dir before reloading, in ms. */
    readonly reloadDebounceMs: number;
  };
  readonly ca: {
    /** Lifetime of each CA signing key; a successor is prepared `overlapSeconds` before it ends. */
    readonly ttlSeconds: number;
    readonly overlapSeconds: number;
    /** An operator-supplied intermediate CA (then sluice does not rotate: the operator does). */
    readonly intermediate: { readonly certFile: string; readonly keyFile: string } | null;
  };
  /** The authorization server (lifetimes in seconds). */
  readonly oauth: {
    readonly accessTokenTtlSeconds: number;
    readonly refreshTokenTtlSeconds: number;
    readonly codeTtlSeconds: number;
    readonly idTokenTtlSeconds: number;
    /** How long a token signing key signs before its successor takes over (it stays published until its tokens expired). */
    readonly signingKeyTtlSeconds: number;
    /** A registered client unused this long is removed. */
    readonly clientIdleExpirySeconds: number;
    /** HTTPS listener that asks for client certificates (X.509-SVID client auth, RFC 8705 mtls_endpoint_aliases); null = off. */
    readonly mtlsListen: string | null;
  };
  readonly users: {
    /** `{trustDomain}` and `{name}` are replaced: the SPIFFE ID a user acts as (the `act.sub` of tokens). */
    readonly spiffeIdTemplate: string;
    readonly sessionIdleSeconds: number;
    readonly sessionAbsoluteSeconds: number;
    readonly enrollmentTtlSeconds: number;
  };
  readonly broker: {
    /** Upstream tokens are refreshed this long before they expire. */
    readonly refreshAheadSeconds: number;
  };
  readonly federation: readonly { readonly trustDomain: string; readonly bundleFile: string | null; readonly bundleEndpoint: string | null }[];
}

/** Where each value came from, for `sluice doctor` and error messages. */
export type ConfigOrigin = "default" | "file" | "env" | "flag";

export interface LoadedConfig {
  readonly config: SluiceConfig;
  /** The file that was read, or null when running on defaults. */
  readonly file: string | null;
  readonly origins: Readonly<Record<string, ConfigOrigin>>;
}
