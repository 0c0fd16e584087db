/** `sluice doctor`: one check per line; parts (kernel, …) contribute their own. */
import type { LoadedConfig } from "../config/index.ts";

export type CheckStatus = "ok" | "warn" | "fail";

export interface CheckResult {
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do about a warn/fail, and what sluice does meanwhile. */
  readonly fix?: string;
}

/** One line of `sluice doctor`. Parts add theirs (the kernel issue adds BTF, bpffs, program types…). */
export interface DoctorCheck {
  readonly name: string;
  run(ctx: { loaded: LoadedConfig }): Promise<CheckResult> | CheckResult;
}
