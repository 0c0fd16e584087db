import { loadConfig, parseHostPort } from "../config/index.ts";
import { configFlag } from "./config-flag.ts";
import { liveClassification, type LiveClassification } from "./live-classification.ts";
import { loadSnapshotOrReport, policySettings, trustDomainFlag } from "./policy-settings.ts";
import { UsageError } from "../errors/index.ts";
import { parseSpiffeId, spiffeIdFor } from "../identity/index.ts";
import { formatDiagnostic, loadPolicyDir, type PolicyDiagnostic } from "../policy/index.ts";
import { EXIT, type Command, type CommandContext } from "./command.ts";

const checkCommand: Command = {
  name: "check",
  summary: "Validate a policy directory (all errors, with file:line:col)",
  usage: "sluice policy check [DIR] [--json]",
  description: `Loads every *.yaml / *.yml in DIR (default: policyDir from the config), validates and
compiles them exactly as \`sluice serve\` would, and lists every error and warning as
file:line:col: message. Exit 0 when valid (warnings allowed), 3 when invalid.

Examples:
  sluice policy check
  sluice policy check ./policies --trust-domain acme.corp`,
  maxArgs: 1,
  flags: [trustDomainFlag],
  async run(ctx) {
    const { dir, trustDomain } = policySettings(ctx);
    const result = await loadPolicyDir(dir, { trustDomain });
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    const ok = errors.length === 0 && result.snapshot !== undefined;
    if (ctx.flags.json) {
      ctx.out(JSON.stringify({ ok, dir, trustDomain, diagnostics: result.diagnostics, stats: result.snapshot?.stats ?? null }) + "\n");
    } else {
      for (const d of result.diagnostics) ctx.out(formatDiagnostic(d) + "\n");
      ctx.out(summary(dir, ok, result.diagnostics, result.snapshot?.stats));
    }
    return ok ? EXIT.ok : EXIT.policyInvalid;
  },
};

function summary(dir: string, ok: boolean, diagnostics: readonly PolicyDiagnostic[], stats: object | undefined): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  if (!ok) return `${dir}: INVALID: ${errors} error(s), ${warnings} warning(s); nothing would be applied\n`;
  const counts = stats ? Object.entries(stats).map(([k, v]) => `${v} ${k}`).join(", ") : "";
  return `${dir}: valid${counts ? ` (${counts})` : ""}${warnings ? `, ${warnings} warning(s)` : ""}\n`;
}

const explainCommand: Command = {
  name: "explain",
  summary: "Explain why a workload may or may not reach a destination",
  usage: "sluice policy explain (--workload ID | --pid N) --to HOST:PORT [--protocol tcp|udp] [DIR]",
  description: `Compiles the policy (DIR or policyDir) and evaluates the egress decision for a workload,
naming the rule that decided (file:line) and what was checked. ID is a SPIFFE ID or a workloadID
(\`claude\` → spiffe://<trustDomain>/claude); an ID no WorkloadIdentity has is treated as an
unmanaged process (HostPolicy decides). With --pid, the workload is the one the kernel has that
running process as right now (its own match, or inherited from the parent that started it): the
classification enforcement actually uses.

Examples:
  sluice policy explain --workload claude --to mcp.example.com:443
  sudo sluice policy explain --pid $(pgrep -n claude) --to api.github.com:443
  sluice policy explain --workload spiffe://acme.corp/agents/coder --to 10.20.1.5:5432 --json`,
  maxArgs: 1,
  flags: [
    { name: "workload", short: "w", kind: "string", placeholder: "ID", help: "SPIFFE ID or workloadID" },
    { name: "pid", short: "p", kind: "integer", placeholder: "N", help: "a running process: use the kernel's live classification of it" },
    { name: "to", kind: "string", placeholder: "HOST:PORT", help: "destination, e.g. api.example.com:443 or [2001:db8::1]:443 (required)" },
    { name: "protocol", kind: "string", placeholder: "tcp|udp", help: "transport", default: "tcp" },
    trustDomainFlag,
  ],
  async run(ctx) {
    const byPid = typeof ctx.flags.pid === "number";
    if (byPid === (typeof ctx.flags.workload === "string")) throw new UsageError("give exactly one of --workload ID and --pid N");
    if (typeof ctx.flags.to !== "string") throw new UsageError("--to is required (HOST:PORT)");
    const protocol = String(ctx.flags.protocol);
    if (protocol !== "tcp" && protocol !== "udp") throw new UsageError(`--protocol takes tcp or udp, got "${protocol}"`);
    const destination = parseDestination(ctx.flags.to);
    const loaded = await loadSnapshotOrReport(ctx);
    if (!loaded) return EXIT.policyInvalid;
    let workload: string | undefined;
    let live: LiveClassification | undefined;
    if (byPid) {
      live = await liveClassification(loadConfig({ file: configFlag(ctx.flags), env: ctx.env }).config, Number(ctx.flags.pid));
      workload = live.spiffeId;
    } else workload = toSpiffeId(String(ctx.flags.workload), loaded.trustDomain);
    const explanation = loaded.snapshot.explainEgress(workload, { ...destination, protocol });
    if (ctx.flags.json) ctx.out(JSON.stringify({ workload: workload ?? null, ...(live ? { process: live } : {}), destination: { ...destination, protocol }, ...explanation }) + "\n");
    else {
      if (live) ctx.out(`pid ${live.pid}: ${live.spiffeId ? `${live.spiffeId} (${live.how} in the kernel)` : "unmanaged (no kernel classification)"}\n`);
      ctx.out(explanation.text.endsWith("\n") ? explanation.text : explanation.text + "\n");
    }
    return EXIT.ok;
  },
};

function toSpiffeId(value: string, trustDomain: string): string {
  try {
    if (value.startsWith("spiffe:")) {
      parseSpiffeId(value);
      return value;
    }
    return spiffeIdFor(trustDomain, value);
  } catch (e) {
    throw new UsageError(`--workload "${value}": ${(e as Error).message}`);
  }
}

function parseDestination(value: string): { host: string; port: number } {
  try {
    const { host, port } = parseHostPort(value, "--to");
    if (port === 0) throw new UsageError("--to: port 0 is not a destination");
    return { host: host.toLowerCase(), port };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const policyCommand: Command = {
  name: "policy",
  summary: "Check policy files and explain decisions",
  usage: "sluice policy COMMAND",
  subcommands: [checkCommand, explainCommand],
};
