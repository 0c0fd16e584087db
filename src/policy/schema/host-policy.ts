/** HostPolicy.spec: what happens to unmanaged processes, and rules every workload gets first. */
import * as s from "../../schema/index.ts";
import type { HostPolicySpec } from "../types.ts";
import { egressRules } from "./egress.ts";

export const DEFAULT_HOST_POLICY: HostPolicySpec = Object.freeze({ unmanaged: "allow", alwaysAllow: Object.freeze([]) });

export const hostPolicySpec: s.Schema<HostPolicySpec> = s.object(
  {
    unmanaged: s.withDefault(s.enumOf(["allow", "audit", "deny"], { what: "unmanaged mode" }), "allow"),
    alwaysAllow: s.withDefault(egressRules, []),
  },
  { what: "HostPolicy spec" },
);
