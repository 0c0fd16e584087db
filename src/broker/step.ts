/**
 * The double auth flow's middle (DESIGN.md §2 step 6): after the user's login and consent, find
 * the CredentialBinding for (workload, user, Service of each resource); no binding → deny, naming
 * what is missing; an oauth2AuthorizationCode binding without a usable upstream credential → send
 * the browser to the upstream AS. Other sources need no browser step.
 */
import type { AuthorizationStep, PendingAuthorization, StepOutcome } from "../oauth/types.ts";
import type { CompiledBinding, CompiledService, PolicySnapshot } from "../policy/index.ts";
import type { AuditSink } from "./audit.ts";
import { BrokerError } from "./errors.ts";
import type { UpstreamFlows } from "./flows.ts";
import { servicesForResource } from "./resources.ts";
import type { AuthorizationCodeSource } from "./sources/authorization-code.ts";
import type { Logger } from "../log/index.ts";

export interface StepDeps {
  readonly policy: () => PolicySnapshot;
  readonly authCode: AuthorizationCodeSource;
  readonly flows: UpstreamFlows;
  readonly audit: AuditSink;
  readonly logger: Logger;
  readonly clock: () => number;
}

type Need = { readonly binding: CompiledBinding; readonly service: CompiledService; readonly resource: string };

/** What the pending authorization still needs: the first upstream authorization missing, or a denial. */
export function nextUpstreamNeed(d: StepDeps, pending: PendingAuthorization): { kind: "none" } | { kind: "deny"; description: string } | { kind: "authorize"; need: Need } {
  const snapshot = d.policy();
  const workload = pending.workload ?? pending.client.spiffeId;
  for (const resource of pending.resources) {
    const services = servicesForResource(snapshot, resource);
    if (services.length === 0) continue; // not a Service in policy: nothing for the broker to do
    if (workload === undefined || workload.endsWith("/*")) {
      return { kind: "deny", description: `client ${pending.client.clientId} is not bound to one workload, so no CredentialBinding can give it a credential for ${resource} (Service ${services[0]!.name})` };
    }
    let found: Need | undefined;
    for (const service of services) {
      const binding = snapshot.binding(workload, pending.user.spiffeId, service.name);
      if (binding) {
        found = { binding, service, resource };
        break;
      }
    }
    if (!found) {
      return {
        kind: "deny",
        description: `no CredentialBinding gives workload ${workload} acting for user ${pending.user.spiffeId} a credential for Service ${services.map((s) => s.name).join(" or ")} (resource ${resource}); add one with credentialSource, workloadID and humanID`,
      };
    }
    const spec = found.binding.credentialSource.spec;
    if (spec.type === "oauth2AuthorizationCode" && !d.authCode.usable(found.binding.credentialSource.name, pending.user.spiffeId)) {
      return { kind: "authorize", need: found };
    }
  }
  return { kind: "none" };
}

/** Starts the upstream authorization for `need`: remembers the flow under a fresh state, returns where the browser goes. */
export async function startUpstream(d: StepDeps, pending: PendingAuthorization, need: Need): Promise<StepOutcome> {
  const source = need.binding.credentialSource;
  if (source.spec.type !== "oauth2AuthorizationCode") return { kind: "proceed" };
  const workload = (pending.workload ?? pending.client.spiffeId)!;
  try {
    const { url, state, flow } = await d.authCode.begin(source.name, source.spec, {
      pendingId: pending.id,
      user: pending.user.spiffeId,
      workload,
      service: need.service.name,
      resource: need.resource,
      expiresAt: Math.min(pending.expiresAt * 1000, d.clock() + 10 * 60_000),
    });
    d.flows.add(state, flow);
    d.audit.append({
      kind: "broker.upstream_authorize",
      decision: "info",
      subject: workload,
      details: { user: pending.user.spiffeId, service: need.service.name, source: source.name, binding: need.binding.name, upstream: flow.server.issuer ?? new URL(flow.server.authorizationEndpoint).origin },
    });
    return { kind: "redirect", location: url };
  } catch (err) {
    const message = err instanceof BrokerError ? err.message : "internal error";
    d.logger.warn("cannot start upstream authorization", { source: source.name, error: err });
    d.audit.append({ kind: "broker.upstream_authorize", decision: "error", subject: workload, details: { user: pending.user.spiffeId, service: need.service.name, source: source.name, reason: message } });
    const transient = err instanceof BrokerError && err.code === "ERR_BROKER_UPSTREAM_UNAVAILABLE";
    return { kind: "deny", error: transient ? "temporarily_unavailable" : "server_error", description: `cannot start the authorization at the upstream of ${need.service.name}: ${message}` };
  }
}

export function createUpstreamStep(d: StepDeps): AuthorizationStep {
  return {
    name: "upstream",
    async beforeCode(pending) {
      const next = nextUpstreamNeed(d, pending);
      if (next.kind === "none") return { kind: "proceed" };
      if (next.kind === "deny") {
        d.audit.append({
          kind: "broker.binding_missing",
          decision: "deny",
          ...(pending.workload ?? pending.client.spiffeId ? { subject: (pending.workload ?? pending.client.spiffeId)! } : {}),
          details: { user: pending.user.spiffeId, client: pending.client.clientId, resources: [...pending.resources], reason: next.description },
        });
        return { kind: "deny", error: "access_denied", description: next.description };
      }
      return startUpstream(d, pending, next.need);
    },
  };
}
