/** Validated policy documents (DESIGN.md §4), before compilation. Positions are kept for diagnostics. */
import type { Diagnostic, SourcePos } from "../schema/index.ts";
import type { Cidr } from "./net/cidr.ts";
import type { HostKind } from "./net/host.ts";

export const API_VERSION = "sluice/v1alpha1";
export const KINDS = ["WorkloadIdentity", "Service", "CredentialSource", "CredentialBinding", "HostPolicy"] as const;
export type PolicyKind = (typeof KINDS)[number];

/** A policy file as read from disk (also what the last-good store keeps). */
export interface PolicySourceFile {
  readonly path: string;
  readonly text: string;
}

export type PolicyDiagnostic = Diagnostic;
export type Labels = Readonly<Record<string, string>>;

export interface Metadata {
  readonly name: string;
  readonly labels: Labels;
  readonly annotations: Labels;
}

export type Protocol = "tcp" | "udp" | "any";
export type Enforcement = "enforce" | "audit";
export type UnmanagedMode = "allow" | "audit" | "deny";
export type TlsMode = "intercept" | "passthrough" | "upgrade";

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export type EgressTarget =
  | { readonly type: "services"; readonly labels: Labels }
  | { readonly type: "cidr"; readonly cidr: Cidr }
  | { readonly type: "host"; readonly host: string };

export interface EgressRuleSpec {
  readonly target: EgressTarget;
  /** Empty: every port (for services rules the ports come from the Service addresses). */
  readonly ports: readonly PortRange[];
  readonly protocol: Protocol;
  readonly at: SourcePos;
}

export const SELECTOR_KEYS = [
  "process:uid",
  "process:gid",
  "process:user",
  "process:group",
  "process:binary:path",
  "process:binary:sha256",
  "process:name",
  "process:cmdline",
  "cgroup:path",
  "systemd:unit",
] as const;
export type SelectorKey = (typeof SELECTOR_KEYS)[number];
/** The process controls these (comm via prctl, argv via its own memory): never enough on their own. */
export const WEAK_SELECTOR_KEYS: ReadonlySet<SelectorKey> = new Set(["process:name", "process:cmdline"]);

/** One selector entry: every present key must match (AND); each key lists alternatives (OR). */
export interface SelectorMatch {
  readonly "process:uid"?: readonly number[];
  readonly "process:gid"?: readonly number[];
  readonly "process:user"?: readonly string[];
  readonly "process:group"?: readonly string[];
  readonly "process:binary:path"?: readonly string[];
  /** Lowercase hex. */
  readonly "process:binary:sha256"?: readonly string[];
  readonly "process:name"?: readonly string[];
  /** Prefixes of the NUL-joined command line, written with spaces. */
  readonly "process:cmdline"?: readonly string[];
  readonly "cgroup:path"?: readonly string[];
  readonly "systemd:unit"?: readonly string[];
}

export interface SelectorSpec {
  readonly match: SelectorMatch;
  /** Only weak keys: a process can make itself match. */
  readonly weak: boolean;
  readonly at: SourcePos;
}

export interface WorkloadIdentitySpec {
  /** Full SPIFFE ID in the configured trust domain. */
  readonly workloadID: string;
  readonly workloadIDAt: SourcePos;
  readonly selectors: readonly SelectorSpec[];
  readonly enforcement: Enforcement;
  readonly egress: readonly EgressRuleSpec[];
  /** Seconds. */
  readonly svid: { readonly x509TTL: number; readonly jwtTTL: number };
}

export interface ServiceAddress {
  /** Canonical: lowercase host name without trailing dot, or canonical IP text. */
  readonly address: string;
  readonly kind: HostKind;
  readonly port: number;
}

export interface ServiceSpec {
  readonly addresses: readonly ServiceAddress[];
  readonly labels: Labels;
  readonly external: boolean;
  readonly tls: TlsMode;
  /** SPIFFE ID of the peer, checked when sluice upgrades to mTLS (`tls: upgrade`). */
  readonly spiffeID?: string;
  /** Inbound to this Service's ports on this host (kernel XDP ingress); absent = not guarded. */
  readonly inbound?: ServiceInbound;
}

/**
 * `Service.spec.inbound`: with `onlyThroughSluice`, TCP/UDP packets arriving on the host's
 * interfaces for the Service's ports are dropped unless their source is in `allowFrom`;
 * connections through sluice arrive over loopback and are not affected.
 */
export interface ServiceInbound {
  readonly onlyThroughSluice: boolean;
  /** Source blocks that may still reach the ports directly (canonical CIDR text). */
  readonly allowFrom: readonly string[];
}

export type SecretRef = { readonly type: "file"; readonly path: string } | { readonly type: "env"; readonly name: string };

export type CredentialSourceSpec =
  | {
      readonly type: "oauth2AuthorizationCode";
      readonly authorizationEndpoint?: string;
      readonly tokenEndpoint?: string;
      readonly registrationEndpoint?: string;
      readonly clientID?: string;
      readonly clientSecretFrom?: SecretRef;
      readonly scopes: readonly string[];
      /** Always true: PKCE is required (RFC 9700 §2.1.1); kept so the shape matches the file. */
      readonly usePKCE: true;
    }
  | {
      readonly type: "oauth2ClientCredentials";
      readonly tokenEndpoint: string;
      readonly clientID: string;
      readonly clientSecretFrom: SecretRef;
      readonly scopes: readonly string[];
      readonly audience?: string;
    }
  | { readonly type: "static"; readonly valueFrom: SecretRef; readonly header: string; readonly format: string }
  | { readonly type: "jwtSVID"; readonly audience: readonly string[] };

export interface CredentialBindingSpec {
  readonly credentialSource: string;
  readonly credentialSourceAt: SourcePos;
  /** Full SPIFFE ID. */
  readonly workloadID: string;
  readonly workloadIDAt: SourcePos;
  readonly humanID?: string;
  readonly injectionSelectors: ReadonlyArray<{ readonly labels: Labels; readonly at: SourcePos }>;
}

export interface HostPolicySpec {
  readonly unmanaged: UnmanagedMode;
  readonly alwaysAllow: readonly EgressRuleSpec[];
}

interface DocBase<K extends PolicyKind, S> {
  readonly kind: K;
  readonly metadata: Metadata;
  readonly spec: S;
  readonly file: string;
  /** Position of the `kind` value. */
  readonly kindAt: SourcePos;
  /** Position of `metadata.name`. */
  readonly nameAt: SourcePos;
}

export type WorkloadIdentityDoc = DocBase<"WorkloadIdentity", WorkloadIdentitySpec>;
export type ServiceDoc = DocBase<"Service", ServiceSpec>;
export type CredentialSourceDoc = DocBase<"CredentialSource", CredentialSourceSpec>;
export type CredentialBindingDoc = DocBase<"CredentialBinding", CredentialBindingSpec>;
export type HostPolicyDoc = DocBase<"HostPolicy", HostPolicySpec>;
export type PolicyDoc = WorkloadIdentityDoc | ServiceDoc | CredentialSourceDoc | CredentialBindingDoc | HostPolicyDoc;
