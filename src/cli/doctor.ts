import { loadConfig, type LoadedConfig } from "../config/index.ts";
import { configFlag } from "./config-flag.ts";
import { EXIT, type Command } from "./command.ts";
import type { CheckResult, DoctorCheck } from "../doctor/index.ts";
import { hostProbeChecks } from "../kernel/host-probes.ts";
import { libbpfProbeChecks } from "../kernel/libbpf-probes.ts";
import { BASE_DOCTOR_CHECKS } from "./doctor-checks.ts";

const MARK: Record<CheckResult["status"], string> = { ok: "ok  ", warn: "WARN", fail: "FAIL" };

export const doctorCommand: Command = {
  name: "doctor",
  summary: "Check that this host can run sluice, and say what to fix",
  usage: "sluice doctor [--json]",
  description: `Runs every check and prints one line each: ok, WARN (sluice works, with less protection)
or FAIL (sluice serve would not start or not protect), with the fix. Exit 1 if any check fails.
Checks: running as root, the config, the data dir (mode, master key, store, whether a sluice
holds it), the policy dir (valid, what it contains), and what the kernel offers: capabilities,
BTF, cgroup v2, bpffs, kTLS, libbpf (and where it loaded from), and whether the verifier accepts
sluice's cgroup_sock_addr and tp_btf programs on this kernel. Each line says what sluice does
without the feature.`,
  async run({ flags, out, env }) {
    let loaded: LoadedConfig;
    const results: { name: string; result: CheckResult }[] = [];
    try {
      loaded = loadConfig({ file: configFlag(flags), env });
      results.push({ name: "config", result: { status: "ok", message: describeConfig(loaded) } });
    } catch (e) {
      results.push({ name: "config", result: { status: "fail", message: (e as Error).message, fix: "fix the config file; the checks below use the defaults" } });
      loaded = loadConfig({ file: null, env: {} });
    }
    for (const check of [...BASE_DOCTOR_CHECKS, ...hostProbeChecks, ...libbpfProbeChecks] as readonly DoctorCheck[]) {
      try {
        results.push({ name: check.name, result: await check.run({ loaded }) });
      } catch (e) {
        results.push({ name: check.name, result: { status: "fail", message: `check failed: ${(e as Error).message}` } });
      }
    }
    if (flags.json) out(JSON.stringify({ ok: results.every((r) => r.result.status !== "fail"), checks: results.map((r) => ({ name: r.name, ...r.result })) }) + "\n");
    else {
      const width = Math.max(...results.map((r) => r.name.length));
      for (const { name, result } of results) {
        out(`${MARK[result.status]}  ${name.padEnd(width)}  ${result.message}\n`);
        if (result.fix && result.status !== "ok") out(`      ${" ".repeat(width)}  → ${result.fix}\n`);
      }
    }
    return results.some((r) => r.result.status === "fail") ? EXIT.failure : EXIT.ok;
  },
};

function describeConfig(loaded: LoadedConfig): string {
  const overridden = Object.entries(loaded.origins).filter(([, o]) => o === "env" || o === "flag").map(([k, o]) => `${k} (${o})`);
  return `${loaded.file ?? "no config file, built-in defaults"}${overridden.length ? `; overridden: ${overridden.join(", ")}` : ""}`;
}
