import { AuditLog, formatRecord, type AuditRecord } from "../audit/index.ts";
import { loadConfig } from "../config/index.ts";
import { configFlag } from "./config-flag.ts";
import { UsageError } from "../errors/index.ts";
import { openStore } from "../store/index.ts";
import { EXIT, type Command, type CommandContext } from "./command.ts";

/** Opens the store read-only (works next to a running `sluice serve`) and its audit log. */
async function withAuditLog<T>(ctx: CommandContext, fn: (log: AuditLog) => Promise<T>): Promise<T> {
  const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
  const store = await openStore({ dataDir: config.dataDir, readOnly: true });
  try {
    const log = await AuditLog.open(store, { mirrorPath: config.audit.file });
    return await fn(log);
  } finally {
    await store.close();
  }
}

const tailCommand: Command = {
  name: "tail",
  summary: "Print the latest audit records (and follow new ones with -f)",
  usage: "sluice audit tail [-n N] [-f] [--json]",
  description: `Prints the last N records, oldest first, one per line: time, kind, decision, subject,
pid/uid and details. With --json each line is the stored record (including its chain hashes).
Reads the store read-only, so it works while \`sluice serve\` runs. Needs read access to the data dir.

Examples:
  sudo sluice audit tail -n 50
  sudo sluice audit tail -f --json | jq 'select(.decision == "deny")'`,
  flags: [
    { name: "lines", short: "n", kind: "integer", placeholder: "N", help: "how many records to print", default: 20 },
    { name: "follow", short: "f", kind: "boolean", help: "keep printing new records until interrupted" },
  ],
  run: (ctx) =>
    withAuditLog(ctx, async (log) => {
      const n = Number(ctx.flags.lines);
      if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new UsageError("--lines takes 0 to 100000");
      const print = (r: AuditRecord) => ctx.out((ctx.flags.json ? JSON.stringify(r) : formatRecord(r)) + "\n");
      const records = log.tail(n);
      records.forEach(print);
      if (!ctx.flags.follow) return EXIT.ok;
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        await log.follow((records.at(-1)?.seq ?? log.head.seq) + 1, print, abort.signal);
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
      return EXIT.ok;
    }),
};

const verifyCommand: Command = {
  name: "verify",
  summary: "Check the audit chain for changed or removed records",
  usage: "sluice audit verify [--json]",
  description: `Walks every record in the store and checks its keyed hash and the link to the previous
one, that no record is missing (including at the end, against the stored head), and that the
JSON-lines mirror matches the store. Exit 0 when intact, 1 when anything was tampered with.`,
  run: (ctx) =>
    withAuditLog(ctx, async (log) => {
      const result = await log.verify();
      if (ctx.flags.json) ctx.out(JSON.stringify(result) + "\n");
      else if (result.ok) ctx.out(`audit log intact: ${result.checked} records, head seq ${result.head.seq}\n`);
      else {
        ctx.out(`audit log TAMPERED: ${result.problems.length + result.omitted} problem(s) in ${result.checked} records\n`);
        for (const p of result.problems) ctx.out(`  seq ${p.seq} (${p.where}): ${p.reason}\n`);
        if (result.omitted > 0) ctx.out(`  … and ${result.omitted} more\n`);
      }
      return result.ok ? EXIT.ok : EXIT.failure;
    }),
};

export const auditCommand: Command = {
  name: "audit",
  summary: "Read and verify the hash-chained audit log",
  usage: "sluice audit COMMAND",
  description: "Every identity assertion, token, injection, denied connect and policy change is an audit record.",
  subcommands: [tailCommand, verifyCommand],
};
