import type { Elysia } from "elysia";
import { SLUICE_VERSION } from "../version.ts";
import type { RouteModule } from "./http.ts";

export interface HealthSource {
  /** Generation and hash of the policy in force, and whether the last reload failed. */
  policy(): { generation: number; hash: string; lastReloadFailed: boolean };
  /** Whether egress is enforced in the kernel right now, and if not, why. */
  kernel(): { enforcing: boolean; generation?: number; reason?: string };
}

/** `GET /healthz`: 200 while serving. Carries no secrets; enough for a probe and an operator. */
export function healthRoutes(source: HealthSource): RouteModule {
  return {
    name: "health",
    mount(app: Elysia) {
      app.get("/healthz", () => ({ status: "ok", version: SLUICE_VERSION, policy: source.policy(), kernel: source.kernel() }));
    },
  };
}
