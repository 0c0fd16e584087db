/**
 * CredentialBinding.spec: which workload (and optionally which user) gets which credential,
 * injected into requests to the Services its selectors pick.
 */
import * as s from "../../schema/index.ts";
import type { CredentialBindingSpec } from "../types.ts";
import { labelSelector, name, spiffeId, workloadId } from "./common.ts";

export function credentialBindingSpec(trustDomain: string): s.Schema<CredentialBindingSpec> {
  const spec = s.object(
    {
      credentialSource: s.required(s.located(name)),
      workloadID: s.required(s.located(workloadId(trustDomain))),
      humanID: s.optional(spiffeId),
      propagation: s.required(
        s.object(
          {
            injection: s.required(
              s.object({ selectors: s.required(s.list(s.located(labelSelector), { min: 1, max: 64, what: "selector" })) }, { what: "injection" }),
            ),
          },
          { what: "propagation" },
        ),
      ),
    },
    {
      what: "CredentialBinding spec",
      check(v, at, ctx) {
        if (v.humanID !== undefined && !v.humanID.startsWith(`spiffe://${trustDomain}/`))
          ctx.warning(at.value("humanID"), `humanID is outside the trust domain "${trustDomain}": sluice only authenticates its own users, so this binding never matches`, "policy.foreign-human");
      },
    },
  );
  return s.refine(spec, (v) => ({
    credentialSource: v.credentialSource.value,
    credentialSourceAt: v.credentialSource.at,
    workloadID: v.workloadID.value,
    workloadIDAt: v.workloadID.at,
    ...(v.humanID !== undefined ? { humanID: v.humanID } : {}),
    injectionSelectors: v.propagation.injection.selectors.map((l) => ({ labels: l.value, at: l.at })),
  }));
}
