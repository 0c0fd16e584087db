import { UsageError } from "../errors/index.ts";
import { explainIdentity } from "../identity/index.ts";
import { EXIT, type Command } from "./command.ts";
import { loadSnapshotOrReport, trustDomainFlag } from "./policy-settings.ts";

export const identifyCommand: Command = {
  name: "identify",
  summary: "Show which workload a process is, and why",
  usage: "sluice identify --pid N [--json] [DIR]",
  description: `Attests a running process the way sluice does (through a pidfd, from /proc: uid/gid and
their names, the executable's path and sha256 read through /proc/PID/exe, comm, argv, cgroup,
systemd unit, start time) and matches it against the WorkloadIdentities in DIR (default: policyDir).
Prints the facts, the SPIFFE ID it gets (or "unmanaged"), the selector entry that matched
(file:line), and for every other workload which key did not match. Needs root for other users'
processes. Selector strength and the tie rule: docs/selectors.md.

Examples:
  sudo sluice identify --pid $(pgrep -n claude)
  sudo sluice identify --pid 4242 --json | jq .identity`,
  maxArgs: 1,
  flags: [{ name: "pid", short: "p", kind: "integer", placeholder: "N", help: "process id (required)" }, trustDomainFlag],
  async run(ctx) {
    const pid = ctx.flags.pid;
    if (typeof pid !== "number" || pid < 1) throw new UsageError("--pid N is required (a positive process id)");
    const loaded = await loadSnapshotOrReport(ctx);
    if (!loaded) return EXIT.policyInvalid;
    const explanation = await explainIdentity(pid, loaded.snapshot);
    if (ctx.flags.json) {
      const { text: _text, ...data } = explanation;
      ctx.out(JSON.stringify(data) + "\n");
    } else ctx.out(explanation.text.endsWith("\n") ? explanation.text : explanation.text + "\n");
    return EXIT.ok;
  },
};
