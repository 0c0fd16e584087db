import { runOnArea, runOnStoreOrServe } from "../admin/index.ts";
import { AuditLog } from "../audit/index.ts";
import { loadConfig } from "../config/index.ts";
import { UsageError } from "../errors/index.ts";
import { clientsAdminArea, clientsDb, registrationResponse, removeClient, type ClientAdminRequest, type ClientRecord, type RemovedClient } from "../oauth/clients/index.ts";
import { openStore } from "../store/index.ts";
import { EXIT, type Command } from "./command.ts";
import { configFlag } from "./config-flag.ts";

const listCommand: Command = {
  name: "list",
  summary: "List the registered OAuth clients",
  usage: "sluice client list [--json]",
  description: `Prints every client registered with sluice's authorization server (RFC 7591 dynamic
registration, SPIFFE-backed or attested): client id, how it authenticates, the SPIFFE ID it is
bound to, its origin, when it was created and last used. Clients identified by a metadata document
URL are fetched on demand and not stored, so they do not appear.

Reads the store read-only, so it works while \`sluice serve\` runs. The last-used time is written
in batches (every few seconds) and may lag a little behind.

Examples:
  sudo sluice client list
  sudo sluice client list --json | jq '.[] | select(.origin == "attested")'`,
  async run(ctx) {
    const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
    const store = await openStore({ dataDir: config.dataDir, readOnly: true });
    try {
      const records = [...store.db(clientsDb).getRange()].map((e) => e.value);
      if (ctx.flags.json) ctx.out(JSON.stringify(records.map(asJson)) + "\n");
      else ctx.out(formatTable(records));
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};

const rmCommand: Command = {
  name: "rm",
  summary: "Remove a registered OAuth client",
  usage: "sluice client rm CLIENT_ID [--json]",
  maxArgs: 1,
  description: `Removes a registered client: its client_id stops working at once for new
authorization and token requests (tokens already issued stay valid until they expire).
The removal is recorded in the audit log. Clients nobody uses are removed automatically after
oauth.clientIdleExpirySeconds.

Works whether or not \`sluice serve\` is running: while it runs (it holds the store), the removal
goes through its admin socket (<dataDir>/admin.sock, token in <dataDir>/admin.token, both readable
by root only); otherwise this command opens the store itself.

Example:
  sudo sluice client rm 3q2c8Hn0Jd0C1l9a5G1Dc0AA`,
  async run(ctx) {
    const clientId = ctx.args[0];
    if (!clientId) throw new UsageError("give the client_id to remove (see `sluice client list`)", "sluice client rm");
    const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
    const request: ClientAdminRequest = { op: "rm", clientId };
    const result = (await runOnStoreOrServe({
      dataDir: config.dataDir,
      area: "clients",
      request,
      async direct(store) {
        const audit = await AuditLog.open(store, { mirrorPath: config.audit.file });
        try {
          return await runOnArea(clientsAdminArea((id) => removeClient(store, audit, id, "removed")), request);
        } finally {
          await audit.close();
        }
      },
    })) as RemovedClient;
    if (ctx.flags.json) ctx.out(JSON.stringify(result) + "\n");
    else ctx.out(`removed client ${result.removed}\n`);
    return EXIT.ok;
  },
};

function asJson(r: ClientRecord): Record<string, unknown> {
  return {
    ...registrationResponse(r),
    origin: r.origin,
    last_used_at: r.lastUsedAt,
    ...(r.registeredBy ? { registered_by: r.registeredBy } : {}),
  };
}

function formatTable(records: readonly ClientRecord[]): string {
  if (records.length === 0) return "no registered clients\n";
  const rows = records.map((r) => [r.clientId, r.tokenEndpointAuthMethod, r.origin, r.spiffeId ?? "-", r.clientName ?? "-", iso(r.createdAt), iso(r.lastUsedAt)]);
  const header = ["CLIENT ID", "AUTH", "ORIGIN", "SPIFFE ID", "NAME", "CREATED", "LAST USED"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd() + "\n";
  return line(header) + rows.map(line).join("");
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.000Z$/, "Z");

export const clientCommand: Command = {
  name: "client",
  summary: "List and remove OAuth clients registered with sluice",
  usage: "sluice client COMMAND",
  subcommands: [listCommand, rmCommand],
};


