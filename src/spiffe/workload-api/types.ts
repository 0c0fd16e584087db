/**
 * What the Workload API needs from the rest of sluice. The server composes real implementations
 * (the CA in src/spiffe, the attestor in src/identity); this module never imports them.
 */
import type { AuditInput } from "../../audit/index.ts";
import type { Logger } from "../../log/index.ts";
import type { GrpcServerLimits } from "./grpc/server.ts";

export interface IssuedX509Svid {
  spiffeId: string;
  /** DER certificates, leaf first (intermediates may follow). */
  certChain: Uint8Array[];
  /** PKCS#8 DER, unencrypted. */
  privateKey: Uint8Array;
  /** ms since the epoch (the leaf's notAfter). */
  expiresAt: number;
}

export interface IssuedJwtSvid {
  token: string;
  /** ms since the epoch. */
  expiresAt: number;
}

/** What the Workload API needs from the CA. */
export interface SvidSource {
  issueX509Svid(req: { spiffeId: string; ttlSeconds: number }): Promise<IssuedX509Svid>;
  issueJwtSvid(req: { spiffeId: string; audience: string[]; ttlSeconds: number }): Promise<IssuedJwtSvid>;
  /** Throws a typed error with `.code`/`.message` (the message says which rule failed; it goes to the client). */
  validateJwtSvid(token: string, audience: string): Promise<{ spiffeId: string; claims: Record<string, unknown> }>;
  /**
   * Own trust domain and federated ones: trust domain → X.509 authorities (DER). Keys are trust
   * domain names (`example.org`); `spiffe://example.org` is accepted too.
   */
  x509Bundles(): Map<string, Uint8Array[]>;
  /** Trust domain → JWKS JSON bytes (JWT-SVID keys only). Keys as for x509Bundles. */
  jwtBundles(): Map<string, Uint8Array>;
  /** Returns the unsubscribe function. */
  onBundleChange(fn: () => void): () => void;
}

export interface CallerIdentity {
  spiffeId: string;
  x509TTLSeconds: number;
  jwtTTLSeconds: number;
}

/** The kernel's record of a caller (SO_PEERCRED), taken when its connection was accepted. */
export interface CallerPeer {
  pid: number;
  uid: number;
  gid: number;
  /**
   * A pidfd for exactly the process that connected (SO_PEERPIDFD, or pidfd_open right after
   * accept on kernels < 6.5), when available. Borrowed: valid for the duration of the call, owned
   * by the connection; never close it. An attestor can read facts through it to rule out pid reuse.
   */
  pidfd?: number;
}

/** What the Workload API needs from attestation. */
export interface CallerIdentifier {
  /** Which workload a peer is (attest pid via procfs; match against the policy). undefined = matches no WorkloadIdentity. */
  identify(peer: CallerPeer): Promise<CallerIdentity | undefined>;
  /** Fires when policy or identity changes may change who a caller is (streams re-evaluate). */
  onChange(fn: () => void): () => void;
}

/** Where issuance and denial records go (`AuditLog` satisfies it). */
export interface WorkloadAuditSink {
  append(input: AuditInput): unknown;
}

export interface WorkloadApiLimits extends GrpcServerLimits {
  /** Open connections in total; more are closed at accept. */
  maxConnections: number;
  /** Open connections per caller uid, so one user cannot starve the others. */
  maxConnectionsPerUid: number;
}

export interface WorkloadApiServerOptions {
  /** `workloadSocket` from the config (default /run/sluice/workload.sock). */
  socketPath: string;
  svids: SvidSource;
  callers: CallerIdentifier;
  logger: Logger;
  audit?: WorkloadAuditSink;
  /**
   * Serve bundles and ValidateJWTSVID to callers that match no WorkloadIdentity (like SPIRE's
   * `allow_unauthenticated_verifiers`). Default false: such callers get PermissionDenied
   * everywhere (spec §5.2.2, §6.2.2 "not entitled … SHOULD respond with PermissionDenied").
   */
  allowUnauthenticatedVerifiers?: boolean;
  /** Rotation point as a fraction of an X.509-SVID's lifetime (default 0.5: at half-life). */
  rotateAtFraction?: number;
  limits?: Partial<WorkloadApiLimits>;
}

export const DEFAULT_WORKLOAD_API_LIMITS: WorkloadApiLimits = {
  maxReceiveMessageBytes: 64 * 1024,
  maxConcurrentStreams: 16,
  maxHeaderListBytes: 16 * 1024,
  idleTimeoutMs: 5 * 60_000,
  requestTimeoutMs: 10_000,
  maxSendBufferBytes: 1024 * 1024,
  maxConnections: 1024,
  maxConnectionsPerUid: 64,
};

export interface WorkloadApiServer {
  start(): Promise<void>;
  /** Ends open streams with UNAVAILABLE, closes connections, removes the socket. Idempotent. */
  stop(): Promise<void>;
  /** The socket path (as configured). */
  readonly address: string;
  /** Open connections and open streams (for metrics and tests). */
  stats(): { connections: number; streams: number };
}
