import { loadConfig } from "../config/index.ts";
import { formatDiagnostic, loadPolicyDir, type PolicySnapshot } from "../policy/index.ts";
import type { CommandContext, FlagSpec } from "./command.ts";
import { configFlag } from "./config-flag.ts";

export const trustDomainFlag: FlagSpec = { name: "trust-domain", kind: "string", placeholder: "TD", help: "trust domain to compile against (default: from config)" };

/** The policy dir (DIR argument, else policyDir from the config) and the trust domain to compile it with. */
export function policySettings(ctx: CommandContext): { dir: string; trustDomain: string } {
  const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
  const dir = ctx.args[0] ?? config.policyDir;
  const trustDomain = typeof ctx.flags["trust-domain"] === "string" ? ctx.flags["trust-domain"] : config.trustDomain;
  return { dir, trustDomain };
}

/** Compiles the policy for a command that needs a snapshot; prints the errors and returns undefined if invalid. */
export async function loadSnapshotOrReport(ctx: CommandContext): Promise<{ snapshot: PolicySnapshot; dir: string; trustDomain: string } | undefined> {
  const { dir, trustDomain } = policySettings(ctx);
  const result = await loadPolicyDir(dir, { trustDomain });
  if (!result.snapshot) {
    for (const d of result.diagnostics) ctx.err(formatDiagnostic(d) + "\n");
    ctx.err(`${dir}: invalid policy (see \`sluice policy check ${dir}\`)\n`);
    return undefined;
  }
  return { snapshot: result.snapshot, dir, trustDomain };
}
