/** One policy document: `apiVersion`, `kind`, `metadata`, `spec`, the spec checked by its kind. */
import { isMap, isScalar } from "yaml";
import * as s from "../../schema/index.ts";
import { API_VERSION, KINDS, type PolicyDoc, type PolicyKind } from "../types.ts";
import { metadata, toMetadata } from "./common.ts";
import { credentialBindingSpec } from "./credential-binding.ts";
import { credentialSourceSpec } from "./credential-source.ts";
import { DEFAULT_HOST_POLICY, hostPolicySpec } from "./host-policy.ts";
import { serviceSpec } from "./service.ts";
import { workloadIdentitySpec } from "./workload-identity.ts";

const apiVersion = s.string({
  what: "apiVersion",
  check: (v) => (v === API_VERSION ? undefined : `unsupported apiVersion ${JSON.stringify(v)} (expected ${API_VERSION})`),
});

const envelope = s.object(
  {
    apiVersion: s.required(apiVersion),
    kind: s.required(s.located(s.enumOf(KINDS, { what: "kind" }))),
    metadata: s.required(metadata),
    spec: s.optional(s.anyNode()),
  },
  { what: "policy document" },
);

/** A name declared by a document, even one whose spec is invalid (so references to it are not "dangling"). */
export interface Declared {
  readonly kind: PolicyKind;
  readonly name: string;
  readonly nameAt: s.SourcePos;
  readonly kindAt: s.SourcePos;
}

export interface DocumentCheck {
  readonly doc?: PolicyDoc;
  readonly declared?: Declared;
  readonly diagnostics: readonly s.Diagnostic[];
}

type SpecSchemas = { [K in PolicyKind]: s.Schema<Extract<PolicyDoc, { kind: K }>["spec"]> };

export function specSchemas(trustDomain: string): SpecSchemas {
  return {
    WorkloadIdentity: workloadIdentitySpec(trustDomain),
    Service: serviceSpec,
    CredentialSource: credentialSourceSpec,
    CredentialBinding: credentialBindingSpec(trustDomain),
    HostPolicy: hostPolicySpec,
  };
}

export function checkPolicyDocument(document: s.YamlDocument, specs: SpecSchemas, limits?: Partial<s.YamlLimits>): DocumentCheck {
  if (document.broken) return { diagnostics: [] };
  const ctx = new s.ValidationContext(document, limits?.maxAliasCount ?? s.DEFAULT_YAML_LIMITS.maxAliasCount);
  const root = ctx.resolve(document.contents);
  if (!root || !isMap(root)) {
    ctx.error(document.contents, "a policy document must be a mapping with apiVersion, kind, metadata and spec", "policy.document");
    return { diagnostics: ctx.diagnostics };
  }
  const head = envelope.checkPartial(root, ctx);
  if (head === s.INVALID) return { diagnostics: ctx.diagnostics };
  const kind = head.value.kind;
  const meta = head.value.metadata;
  const declared = kind && meta ? { kind: kind.value, name: meta.name.value, nameAt: meta.name.at, kindAt: kind.at } : undefined;
  if (!kind) return { ...(declared ? { declared } : {}), diagnostics: ctx.diagnostics };

  let spec: unknown = s.INVALID;
  const specNode = head.at.value("spec");
  const specIsNull = specNode === undefined || (isScalar(specNode) && specNode.value === null);
  if (specIsNull && kind.value === "HostPolicy") spec = DEFAULT_HOST_POLICY;
  else if (specNode === undefined) ctx.error(root, `missing required field \`spec\` in ${kind.value}`, "schema.required");
  else spec = s.run(specs[kind.value] as s.Schema<unknown>, specNode, ctx);

  const ok = head.ok && spec !== s.INVALID && !s.hasErrors(ctx.diagnostics) && !s.hasErrors(document.diagnostics);
  if (!ok || !meta) return { ...(declared ? { declared } : {}), diagnostics: ctx.diagnostics };
  const doc = {
    kind: kind.value,
    metadata: toMetadata(meta),
    spec,
    file: document.file,
    kindAt: kind.at,
    nameAt: meta.name.at,
  } as PolicyDoc;
  return { doc, declared: declared!, diagnostics: ctx.diagnostics };
}
