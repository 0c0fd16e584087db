/** What a compiled PolicySnapshot exposes. Every object reachable from a snapshot is frozen. */
import type { SourcePos } from "../../schema/index.ts";
import type {
  CredentialSourceSpec,
  Enforcement,
  Labels,
  PortRange,
  Protocol,
  SelectorSpec,
  ServiceAddress,
  ServiceInbound,
  TlsMode,
  UnmanagedMode,
} from "../types.ts";

/** Where a rule was written, and how it reads. */
export interface RuleRef {
  readonly kind: "services" | "cidr" | "host";
  /** `egress` of a WorkloadIdentity, or the HostPolicy's `alwaysAllow`. */
  readonly origin: "egress" | "alwaysAllow";
  /** 1-based position in its list. */
  readonly index: number;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Canonical one-line form, e.g. `cidr: 10.20.0.0/16, ports: [5432], protocol: tcp`. */
  readonly text: string;
}

/** A rule's target in JSON-safe form (CIDR as canonical text). */
export type CompiledTarget =
  | { readonly type: "services"; readonly labels: Labels }
  | { readonly type: "cidr"; readonly cidr: string }
  | { readonly type: "host"; readonly host: string };

export interface CompiledRule extends RuleRef {
  readonly target: CompiledTarget;
  /** Empty: every port (services rules: the Service's own ports). */
  readonly ports: readonly PortRange[];
  readonly protocol: Protocol;
  /** Services rules: names of the Services the selector picks. */
  readonly services: readonly string[];
}

export interface CompiledWorkload {
  readonly name: string;
  readonly spiffeId: string;
  readonly enforcement: Enforcement;
  readonly selectors: readonly SelectorSpec[];
  readonly egress: readonly CompiledRule[];
  /** Seconds. */
  readonly svid: { readonly x509TTL: number; readonly jwtTTL: number };
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly source: SourcePos;
}

export interface CompiledService {
  readonly name: string;
  readonly addresses: readonly ServiceAddress[];
  readonly labels: Labels;
  readonly external: boolean;
  readonly tls: TlsMode;
  readonly spiffeID?: string;
  /** Service.spec.inbound (kernel XDP ingress), when given. */
  readonly inbound?: ServiceInbound;
  readonly source: SourcePos;
}

export interface CompiledCredentialSource {
  readonly name: string;
  readonly spec: CredentialSourceSpec;
  readonly source: SourcePos;
}

export interface CompiledBinding {
  readonly name: string;
  readonly credentialSource: CompiledCredentialSource;
  readonly workloadID: string;
  readonly humanID?: string;
  /** Names of the Services its injection selectors pick. */
  readonly services: readonly string[];
  readonly source: SourcePos;
}

export interface CompiledHostPolicy {
  /** Undefined when no HostPolicy document exists (defaults apply). */
  readonly name?: string;
  readonly unmanaged: UnmanagedMode;
  readonly alwaysAllow: readonly CompiledRule[];
  readonly source?: SourcePos;
}

export interface PolicyStats {
  readonly files: number;
  readonly workloads: number;
  readonly services: number;
  readonly credentialSources: number;
  readonly credentialBindings: number;
  readonly egressRules: number;
}

export interface Destination {
  /** Host name (any case, trailing dot allowed) or IP literal (`[v6]` allowed). */
  readonly host: string;
  readonly port: number;
  /** Default tcp. */
  readonly protocol?: "tcp" | "udp";
}

export type Verdict = "allow" | "deny" | "audit";

export interface EgressDecision {
  /** `audit`: not allowed by policy but let through and reported (enforcement: audit, or unmanaged: audit). */
  readonly verdict: Verdict;
  readonly reason: string;
  /** The rule that allowed it (first match in order, alwaysAllow first). */
  readonly rule?: RuleRef;
  /** Name of the Service at the destination, when there is one. */
  readonly service?: string;
}

export interface RuleCheck {
  readonly rule: RuleRef;
  readonly matched: boolean;
  readonly detail: string;
}

export interface EgressExplanation extends EgressDecision {
  /** Every rule looked at, in evaluation order. */
  readonly checks: readonly RuleCheck[];
  /** Human-readable account, one fact per line. */
  readonly text: string;
}
