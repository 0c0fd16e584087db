import { ADMIN_LONGEST_CALL_MS, runOnArea, runOnStoreOrServe } from "../admin/index.ts";
import { AuditLog } from "../audit/index.ts";
import { createUpstreamHttp, credentialsAdminArea, isSpiffeId, listVault, revokeStoredCredentials, Vault, type CredentialsAdminRequest, type RevokedCredential, type VaultEntry } from "../broker/index.ts";
import { loadConfig } from "../config/index.ts";
import { UsageError } from "../errors/index.ts";
import { createLogger } from "../log/index.ts";
import { openStore } from "../store/index.ts";
import { EXIT, type Command, type CommandContext } from "./command.ts";
import { configFlag } from "./config-flag.ts";

function rowOf(e: VaultEntry) {
  return {
    source: e.source,
    user: e.user || null,
    state: e.state,
    expiresAt: e.expiresAt === undefined ? null : new Date(e.expiresAt).toISOString(),
    refreshable: e.hasRefreshToken,
    issuer: e.issuer ?? null,
    updatedAt: new Date(e.updatedAt).toISOString(),
    ...(e.failure ? { failure: e.failure } : {}),
  };
}

const listCommand: Command = {
  name: "list",
  summary: "List the upstream credentials sluice holds (never their values)",
  usage: "sluice credentials list [--json]",
  description: `One line per stored upstream credential: credential source, user (the SPIFFE ID of the
person it was authorized for, "-" for bindings without a human), state (active, or failed with the
reason: the user must authorize again through their agent), access token expiry and whether it
can be refreshed. Token values are sealed in the store and never printed.
Reads the store read-only, so it works while \`sluice serve\` runs. Needs read access to the data dir.

Examples:
  sudo sluice credentials list
  sudo sluice credentials list --json | jq '.[] | select(.state == "failed")'`,
  async run(ctx) {
    const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
    const store = await openStore({ dataDir: config.dataDir, readOnly: true });
    try {
      const rows = listVault(store).map(rowOf);
      if (ctx.flags.json) ctx.out(JSON.stringify(rows) + "\n");
      else if (rows.length === 0) ctx.out("no upstream credentials stored\n");
      else {
        ctx.out(`${"SOURCE".padEnd(24)} ${"USER".padEnd(40)} ${"STATE".padEnd(7)} ${"EXPIRES".padEnd(24)} REFRESH\n`);
        for (const r of rows) {
          ctx.out(`${r.source.padEnd(24)} ${(r.user ?? "-").padEnd(40)} ${r.state.padEnd(7)} ${(r.expiresAt ?? "-").padEnd(24)} ${r.refreshable ? "yes" : "no"}\n`);
          if (r.failure) ctx.out(`  failed: ${r.failure}\n`);
        }
      }
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};

const revokeCommand: Command = {
  name: "revoke",
  summary: "Revoke stored upstream credentials of a source (all users, or one)",
  usage: "sluice credentials revoke SOURCE [--user SPIFFE_ID] [--json]",
  description: `Revokes the tokens at the upstream authorization server where it offers revocation
(RFC 7009) and deletes sluice's copy. The user's agent then gets a 401 on its next request and goes
through the authorization flow again. Without --user every credential of SOURCE is revoked.
Exits 1 when SOURCE (for that user) has no stored credential.

Works whether or not \`sluice serve\` is running: while it runs (it holds the store and the
broker's live state), the revocation runs inside serve through its admin socket
(<dataDir>/admin.sock, token in <dataDir>/admin.token, both readable by root only); otherwise this
command opens the store itself.

Examples:
  sudo sluice credentials revoke cloudflare-mcp --user spiffe://acme.corp/user/alice
  sudo sluice credentials revoke github`,
  maxArgs: 1,
  flags: [{ name: "user", kind: "string", placeholder: "SPIFFE_ID", help: "only this user's credential" }],
  async run(ctx: CommandContext) {
    const source = ctx.args[0];
    if (!source) throw new UsageError("a credential SOURCE name is required (see `sluice credentials list`)", "sluice credentials revoke");
    const user = typeof ctx.flags.user === "string" ? ctx.flags.user : undefined;
    if (user !== undefined && !isSpiffeId(user)) throw new UsageError(`--user must be a SPIFFE ID (spiffe://trust-domain/path), got ${JSON.stringify(user.slice(0, 100))}`, "sluice credentials revoke");
    const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
    const request: CredentialsAdminRequest = { op: "revoke", source, ...(user !== undefined ? { user } : {}) };
    const revoked = (await runOnStoreOrServe({
      dataDir: config.dataDir,
      area: "credentials",
      request,
      // Upstream revocation calls (one per credential) can take a while.
      timeoutMs: ADMIN_LONGEST_CALL_MS,
      async direct(store) {
        const audit = await AuditLog.open(store, { mirrorPath: config.audit.file });
        try {
          const logger = createLogger({ level: "warn", write: (line) => ctx.err(line + "\n") });
          const http = createUpstreamHttp({ caFile: config.proxy.upstreamCaFile });
          const area = credentialsAdminArea((s, u) => revokeStoredCredentials({ vault: new Vault(store), http, audit, logger }, s, u, "sluice credentials revoke"));
          const result = await runOnArea(area, request);
          await store.flushed();
          return result;
        } finally {
          await audit.close();
        }
      },
    })) as RevokedCredential[];
    if (ctx.flags.json) ctx.out(JSON.stringify(revoked) + "\n");
    else if (revoked.length === 0) ctx.out(`no stored credential of source ${source}${user ? ` for ${user}` : ""}\n`);
    else for (const r of revoked) ctx.out(`revoked ${r.source} ${r.user || "-"}${r.upstreamRevoked ? " (upstream revoked)" : " (deleted locally; the upstream offers no revocation or refused it)"}\n`);
    return revoked.length === 0 ? EXIT.failure : EXIT.ok;
  },
};

export const credentialsCommand: Command = {
  name: "credentials",
  summary: "List and revoke the upstream credentials sluice holds for agents",
  usage: "sluice credentials COMMAND",
  description: `Upstream credentials are what sluice injects into agents' requests (DESIGN.md §2): OAuth
tokens it obtained from an MCP server's authorization server for a user (the double auth flow).
They are sealed at rest; these commands never print their values.`,
  subcommands: [listCommand, revokeCommand],
};
