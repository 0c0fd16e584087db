/** Options of `openTrustDomainCA`, checked and filled with defaults. */
import type { AuditInput } from "../../audit/index.ts";
import { trustDomainProblem } from "../../identity/index.ts";
import type { Logger } from "../../log/index.ts";
import type { Store } from "../../store/index.ts";
import type { BundleSet } from "../bundle/set.ts";
import type { IntermediateFiles } from "./intermediate.ts";
import type { RotationPolicy } from "./rotation.ts";

export interface CaAuditSink {
  append(input: AuditInput): unknown;
}

export interface TrustDomainCAOptions {
  readonly store: Store;
  readonly trustDomain: string;
  readonly logger: Logger;
  /** Key creation, activation and removal are recorded here when given. */
  readonly audit?: CaAuditSink;
  /** Lifetime of each signing key (X.509 CA and JWT key). Default 30 days. */
  readonly caTTLSeconds?: number;
  /** How long before its expiry the active key gets a published successor. Default TTL/6. */
  readonly overlapSeconds?: number;
  /** How long a successor is published before it signs. Default overlap/2. */
  readonly prepareSeconds?: number;
  /** `spiffe_refresh_hint` of the bundle. Default min(5 min, prepare/2). */
  readonly refreshHintSeconds?: number;
  /** Operator-supplied signing certificate: sluice then does not rotate the X.509 CA. */
  readonly intermediate?: IntermediateFiles;
  /** Where the trust domain's bundle is published (with the federated ones); a new set by default. */
  readonly bundles?: BundleSet;
  /** Clock in ms since the epoch (tests). */
  readonly now?: () => number;
  /** Longest wait between two rotation checks, ms. Default 1 hour. */
  readonly maxCheckIntervalMs?: number;
}

export interface CaSettings {
  readonly policy: RotationPolicy;
  readonly refreshHintSeconds: number;
  readonly maxCheckIntervalMs: number;
}

export const CA_DEFAULTS = { caTTLSeconds: 30 * 24 * 3600, x509SvidTTLSeconds: 3600, jwtSvidTTLSeconds: 300 } as const;

export function caSettings(options: TrustDomainCAOptions): CaSettings {
  const problem = trustDomainProblem(options.trustDomain);
  if (problem) throw new TypeError(`openTrustDomainCA: invalid trust domain ${JSON.stringify(options.trustDomain)}: ${problem.message}`);
  const ttl = seconds(options.caTTLSeconds ?? CA_DEFAULTS.caTTLSeconds, "caTTLSeconds");
  const overlap = seconds(options.overlapSeconds ?? ttl / 6, "overlapSeconds");
  if (overlap >= ttl) throw new TypeError("openTrustDomainCA: overlapSeconds must be shorter than caTTLSeconds");
  const prepare = options.prepareSeconds === undefined ? overlap / 2 : seconds(options.prepareSeconds, "prepareSeconds", true);
  if (prepare > overlap) throw new TypeError("openTrustDomainCA: prepareSeconds must not exceed overlapSeconds");
  const hint = options.refreshHintSeconds ?? Math.max(1, Math.floor(Math.min(300, prepare / 2)));
  if (!Number.isSafeInteger(hint) || hint < 1) throw new TypeError("openTrustDomainCA: refreshHintSeconds must be a positive integer");
  return {
    policy: { ttlMs: ttl * 1000, overlapMs: overlap * 1000, prepareMs: prepare * 1000 },
    refreshHintSeconds: hint,
    maxCheckIntervalMs: options.maxCheckIntervalMs ?? 3_600_000,
  };
}

function seconds(value: number, name: string, zeroOk = false): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (!zeroOk && value === 0))
    throw new TypeError(`openTrustDomainCA: ${name} must be a positive number of seconds`);
  return value;
}
