/** WorkloadIdentity.spec: which processes get which SPIFFE ID, and where they may connect. */
import * as s from "../../schema/index.ts";
import type { WorkloadIdentitySpec } from "../types.ts";
import { duration, workloadId } from "./common.ts";
import { egressRules } from "./egress.ts";
import { selector } from "./selectors.ts";

export const DEFAULT_X509_TTL = 3_600;
export const DEFAULT_JWT_TTL = 300;

const svid = s.object(
  {
    x509TTL: s.withDefault(duration("x509TTL", 60, 30 * 86_400), DEFAULT_X509_TTL),
    jwtTTL: s.withDefault(duration("jwtTTL", 30, 86_400), DEFAULT_JWT_TTL),
  },
  { what: "svid" },
);

export function workloadIdentitySpec(trustDomain: string): s.Schema<WorkloadIdentitySpec> {
  const spec = s.object(
    {
      workloadID: s.required(s.located(workloadId(trustDomain))),
      selectors: s.required(s.list(selector, { min: 1, max: 256, what: "selector" })),
      enforcement: s.withDefault(s.enumOf(["enforce", "audit"], { what: "enforcement" }), "enforce"),
      egress: s.withDefault(egressRules, []),
      svid: s.withDefault(svid, { x509TTL: DEFAULT_X509_TTL, jwtTTL: DEFAULT_JWT_TTL }),
    },
    { what: "WorkloadIdentity spec" },
  );
  return s.refine(spec, (v) => ({
    workloadID: v.workloadID.value,
    workloadIDAt: v.workloadID.at,
    selectors: v.selectors,
    enforcement: v.enforcement,
    egress: v.egress,
    svid: v.svid,
  }));
}
