import { UsageError } from "../errors/index.ts";
import type { FlagValues } from "./command.ts";

/** The `--config` flag's value: a path, "none", or null when not given. */
export function configFlag(flags: FlagValues): string | null {
  const v = flags.config;
  if (v === undefined) return null;
  if (typeof v !== "string" || v === "") throw new UsageError("--config takes a file path (or none)");
  return v;
}
