/**
 * PolicySnapshot: the compiled policy in force, immutable (frozen, private indexes) so consumers can
 * hold it without copying; the engine swaps the single reference on reload.
 */
import type { LabelIndex } from "../labels.ts";
import { parseDestination, newParsedDestination } from "./destination.ts";
import { explainEgress } from "./explain.ts";
import { PROTO_TCP, PROTO_UDP, type MatchRule, type RuleMatcher } from "./matcher.ts";
import type {
  CompiledBinding,
  CompiledCredentialSource,
  CompiledHostPolicy,
  CompiledService,
  CompiledWorkload,
  Destination,
  EgressDecision,
  EgressExplanation,
  PolicyStats,
} from "./model.ts";

export interface WorkloadEntry {
  readonly workload: CompiledWorkload;
  /** The workload's own egress rules (explain walks alwaysAllow separately). */
  readonly rules: readonly MatchRule[];
  /** alwaysAllow followed by the workload's rules. */
  readonly matcher: RuleMatcher;
  /** What happens when no rule matches: deny, or audit under `enforcement: audit`. */
  readonly fallback: EgressDecision;
}

/** Internal state of a snapshot; built by compilePolicy, read by decide/explain. */
export interface SnapshotData {
  readonly trustDomain: string;
  readonly generation: number;
  readonly hash: string;
  readonly stats: PolicyStats;
  readonly hostPolicy: CompiledHostPolicy;
  readonly workloads: readonly CompiledWorkload[];
  readonly workloadById: ReadonlyMap<string, WorkloadEntry>;
  readonly services: readonly CompiledService[];
  readonly serviceByName: ReadonlyMap<string, CompiledService>;
  readonly servicesByAddress: ReadonlyMap<string, ReadonlyMap<number, readonly CompiledService[]>>;
  readonly labelIndex: LabelIndex<CompiledService>;
  readonly sources: readonly CompiledCredentialSource[];
  readonly sourceByName: ReadonlyMap<string, CompiledCredentialSource>;
  readonly bindings: readonly CompiledBinding[];
  readonly bindingByKey: ReadonlyMap<string, CompiledBinding>;
  readonly always: RuleMatcher;
  readonly alwaysRules: readonly MatchRule[];
  readonly unmanagedDecision: EgressDecision;
}

export function bindingKey(workloadId: string, humanId: string | undefined, service: string): string {
  return `${workloadId}\n${humanId ?? ""}\n${service}`;
}

const NONE: readonly never[] = Object.freeze([]);

export class PolicySnapshot {
  readonly #d: SnapshotData;
  readonly #scratch = newParsedDestination();
  readonly trustDomain: string;
  readonly generation: number;
  /** sha256 of the sources (hex): equal hashes mean identical input. */
  readonly hash: string;
  readonly stats: PolicyStats;
  readonly hostPolicy: CompiledHostPolicy;

  constructor(data: SnapshotData) {
    this.#d = data;
    this.trustDomain = data.trustDomain;
    this.generation = data.generation;
    this.hash = data.hash;
    this.stats = data.stats;
    this.hostPolicy = data.hostPolicy;
    Object.freeze(this);
  }

  /** The managed workload with this SPIFFE ID. */
  workload(spiffeId: string): CompiledWorkload | undefined {
    return this.#d.workloadById.get(spiffeId)?.workload;
  }

  workloads(): readonly CompiledWorkload[] {
    return this.#d.workloads;
  }

  services(): readonly CompiledService[] {
    return this.#d.services;
  }

  service(name: string): CompiledService | undefined {
    return this.#d.serviceByName.get(name);
  }

  /** Services listening at `address` (host name, any case, or IP literal) and `port`. */
  servicesAt(address: string, port: number): readonly CompiledService[] {
    const key = parseDestination(address, this.#scratch).key;
    const list = this.#d.servicesByAddress.get(key)?.get(port);
    return list === undefined ? NONE : Object.isFrozen(list) ? list : Object.freeze(list);
  }

  servicesWithLabel(key: string, value: string): readonly CompiledService[] {
    return this.#d.labelIndex.withLabel(key, value);
  }

  credentialSource(name: string): CompiledCredentialSource | undefined {
    return this.#d.sourceByName.get(name);
  }

  credentialSources(): readonly CompiledCredentialSource[] {
    return this.#d.sources;
  }

  bindings(): readonly CompiledBinding[] {
    return this.#d.bindings;
  }

  /**
   * The binding that gives `workloadSpiffeId` (acting for `humanId`, if any) a credential for
   * `serviceName`. A per-user binding wins; a binding without humanID covers every user.
   */
  binding(workloadSpiffeId: string, humanId: string | undefined, serviceName: string): CompiledBinding | undefined {
    const m = this.#d.bindingByKey;
    if (humanId !== undefined) {
      const own = m.get(bindingKey(workloadSpiffeId, humanId, serviceName));
      if (own) return own;
    }
    return m.get(bindingKey(workloadSpiffeId, undefined, serviceName));
  }

  /**
   * May this workload connect there? `undefined` or an unknown ID is an unmanaged process (HostPolicy
   * decides); a managed workload gets the first matching rule (alwaysAllow first), else deny
   * (`audit` under `enforcement: audit`). Host rules and Services match names; CIDR rules match addresses.
   */
  decideEgress(workloadSpiffeId: string | undefined, dest: Destination): EgressDecision {
    const d = this.#d;
    const p = parseDestination(dest.host, this.#scratch);
    const proto = dest.protocol === "udp" ? PROTO_UDP : PROTO_TCP;
    const port = dest.port;
    const w = workloadSpiffeId === undefined ? undefined : d.workloadById.get(workloadSpiffeId);
    let c;
    if (w === undefined) {
      // Unmanaged: alwaysAllow, then HostPolicy.unmanaged.
      c = d.always.empty ? undefined : d.always.match(p.key, p.v4, p.v6, port, proto);
      if (c === undefined) return d.unmanagedDecision;
    } else {
      // Managed: the workload's matcher holds alwaysAllow first, then its own egress.
      c = w.matcher.match(p.key, p.v4, p.v6, port, proto);
      if (c === undefined) return w.fallback;
    }
    if (!c.lookupService) return c.decision();
    const svc = d.servicesByAddress.get(p.key)?.get(port)?.[0];
    return svc === undefined ? c.decision() : Object.freeze({ ...c.decision(), service: svc.name });
  }

  /** The decision plus every rule checked and a human-readable account (`sluice policy explain`). */
  explainEgress(workloadSpiffeId: string | undefined, dest: Destination): EgressExplanation {
    return explainEgress(this.#d, workloadSpiffeId, dest, this.decideEgress(workloadSpiffeId, dest));
  }
}
