import { runOnArea, runOnStoreOrServe } from "../admin/index.ts";
import { AuditLog } from "../audit/index.ts";
import { loadConfig } from "../config/index.ts";
import { UsageError } from "../errors/index.ts";
import { openUserAdmin, usersAdminArea, type AdminRequest, type ConsentSummary, type EnrollmentLink, type PasskeySummary, type UserSummary } from "../users/index.ts";
import { EXIT, type Command, type CommandContext } from "./command.ts";
import { configFlag } from "./config-flag.ts";

/**
 * Runs a "users" admin operation: straight on the store when no `sluice serve` holds it, else
 * through serve's admin socket (<dataDir>/admin.sock, token in <dataDir>/admin.token, both 0600).
 */
async function runAdmin(ctx: CommandContext, request: AdminRequest): Promise<unknown> {
  const { config } = loadConfig({ file: configFlag(ctx.flags), env: ctx.env });
  return runOnStoreOrServe({
    dataDir: config.dataDir,
    area: "users",
    request,
    async direct(store) {
      const audit = await AuditLog.open(store, { mirrorPath: config.audit.file });
      try {
        return await runOnArea(usersAdminArea(openUserAdmin(config, store, audit)), request);
      } finally {
        await audit.close();
      }
    },
  });
}

function name(ctx: CommandContext): string {
  const n = ctx.args[0];
  if (!n) throw new UsageError("a user NAME is required (see --help)", "sluice user");
  return n;
}

const print = (ctx: CommandContext, value: unknown, text: string) => ctx.out(ctx.flags.json ? JSON.stringify(value) + "\n" : text);

function linkText(link: EnrollmentLink, verb: string): string {
  return `${verb} ${link.user} (${link.spiffeId}).
Send this one-time link to them; it registers a passkey and expires at ${link.expiresAt}:

  ${link.url}
`;
}

const addCommand: Command = {
  name: "add",
  summary: "Create a user and print a one-time passkey enrollment link",
  usage: "sluice user add NAME [--admin] [--display-name TEXT] [--json]",
  description: `Creates the user NAME (lower-case letters, digits, ".", "-", "_"; at most 64) with the SPIFFE ID
from users.spiffeIdTemplate (default spiffe://<trustDomain>/user/NAME: the act.sub of the tokens
agents get on this user's behalf), and prints a link <issuer>/enroll/<token>. Opening it registers
the user's first passkey. The link works once and expires after users.enrollmentTtl (15m by
default); only a hash of it is stored. Passkeys need an issuer with a host name (not an IP).

Works whether or not sluice serve is running (it talks to serve through <dataDir>/admin.sock).

Examples:
  sudo sluice user add alice
  sudo sluice user add bob --admin --display-name "Bob Smith"`,
  maxArgs: 1,
  flags: [
    { name: "admin", kind: "boolean", help: "the user administers sluice" },
    { name: "display-name", kind: "string", placeholder: "TEXT", help: "name shown on the pages and to the authenticator" },
  ],
  async run(ctx) {
    const displayName = typeof ctx.flags["display-name"] === "string" ? ctx.flags["display-name"] : undefined;
    const link = (await runAdmin(ctx, { op: "add", name: name(ctx), admin: ctx.flags.admin === true, ...(displayName ? { displayName } : {}) })) as EnrollmentLink;
    print(ctx, link, linkText(link, "Created"));
    return EXIT.ok;
  },
};

const enrollCommand: Command = {
  name: "enroll",
  summary: "Print a new one-time enrollment link for an existing user",
  usage: "sluice user enroll NAME [--json]",
  description: `For a user who lost their passkeys or wants one on another device without being signed in:
prints a fresh one-time link (same lifetime and rules as \`sluice user add\`).

Example:
  sudo sluice user enroll alice`,
  maxArgs: 1,
  async run(ctx) {
    const link = (await runAdmin(ctx, { op: "enroll", name: name(ctx) })) as EnrollmentLink;
    print(ctx, link, linkText(link, "Enrollment link for"));
    return EXIT.ok;
  },
};

const listCommand: Command = {
  name: "list",
  summary: "List users",
  usage: "sluice user list [--json]",
  description: `Prints each user's name, SPIFFE ID, number of passkeys and whether they are an administrator.
A user with 0 passkeys has not used their enrollment link yet.`,
  async run(ctx) {
    const users = (await runAdmin(ctx, { op: "list" })) as UserSummary[];
    const lines = users.map((u) => `${u.name.padEnd(20)} ${String(u.passkeys).padStart(2)} passkey(s)  ${u.admin ? "admin " : "      "} ${u.spiffeId}`);
    print(ctx, users, users.length === 0 ? "no users yet (add one: sluice user add NAME)\n" : lines.join("\n") + "\n");
    return EXIT.ok;
  },
};

const rmCommand: Command = {
  name: "rm",
  summary: "Remove a user with their passkeys, sessions and consents",
  usage: "sluice user rm NAME [--json]",
  description: `Removes NAME at once: their passkeys stop working, their sessions end, their remembered consents and
open enrollment links are deleted, and every token issued on their behalf is revoked: refresh tokens
fail, access tokens naming them (as subject or as the user an agent acts for) are refused by sluice
and reported inactive by introspection.`,
  maxArgs: 1,
  async run(ctx) {
    const result = await runAdmin(ctx, { op: "rm", name: name(ctx) });
    const revoked = (result as { revokedFamilies?: number }).revokedFamilies ?? 0;
    print(ctx, result, `removed ${ctx.args[0]}; revoked ${revoked} refresh token famil${revoked === 1 ? "y" : "ies"} and their access tokens\n`);
    return EXIT.ok;
  },
};

const passkeysCommand: Command = {
  name: "passkeys",
  summary: "List a user's passkeys, or remove one with --rm",
  usage: "sluice user passkeys NAME [--rm ID] [--json]",
  description: `Lists NAME's passkeys (credential ID, when added and last used). With --rm ID, removes that passkey:
it no longer signs in, and sessions opened with it end.

Examples:
  sudo sluice user passkeys alice
  sudo sluice user passkeys alice --rm 3q2-7w…`,
  maxArgs: 1,
  flags: [{ name: "rm", kind: "string", placeholder: "ID", help: "remove the passkey with this credential ID" }],
  async run(ctx) {
    const user = name(ctx);
    if (typeof ctx.flags.rm === "string") {
      const result = await runAdmin(ctx, { op: "passkey-rm", name: user, id: ctx.flags.rm });
      print(ctx, result, `removed passkey ${ctx.flags.rm} of ${user}\n`);
      return EXIT.ok;
    }
    const keys = (await runAdmin(ctx, { op: "passkeys", name: user })) as PasskeySummary[];
    print(ctx, keys, keys.length === 0 ? `${user} has no passkeys (sluice user enroll ${user} makes a link)\n` : keys.map((k) => `${k.id}  added ${k.createdAt}  last used ${k.lastUsedAt ?? "never"}`).join("\n") + "\n");
    return EXIT.ok;
  },
};

const consentsCommand: Command = {
  name: "consents",
  summary: "List a user's remembered consents, or revoke one with --rm",
  usage: "sluice user consents NAME [--rm ID] [--json]",
  description: `Lists the (client, resource, scopes) answers NAME asked sluice to remember. With --rm ID (an ID from
the list, or a bare client ID for all of that client's), the consent screen shows again next time and
the refresh tokens issued under that consent are revoked.`,
  maxArgs: 1,
  flags: [{ name: "rm", kind: "string", placeholder: "ID", help: "revoke this consent (or every consent of a client ID)" }],
  async run(ctx) {
    const user = name(ctx);
    if (typeof ctx.flags.rm === "string") {
      const result = await runAdmin(ctx, { op: "consent-rm", name: user, id: ctx.flags.rm });
      print(ctx, result, `revoked ${(result as { removed: number }).removed} consent(s) of ${user}\n`);
      return EXIT.ok;
    }
    const list = (await runAdmin(ctx, { op: "consents", name: user })) as ConsentSummary[];
    print(ctx, list, list.length === 0 ? `${user} has no remembered consents\n` : list.map((c) => `${c.id}\n  resources ${c.resources.join(" ")}  scopes ${c.scopes.join(" ") || "-"}  since ${c.grantedAt}`).join("\n") + "\n");
    return EXIT.ok;
  },
};

export const userCommand: Command = {
  name: "user",
  summary: "Manage the people who sign in to sluice with passkeys",
  usage: "sluice user COMMAND",
  description: `Users sign in with passkeys (no passwords) to approve agents' access on their behalf. Start with
\`sluice user add NAME\`, which prints a one-time enrollment link.`,
  subcommands: [addCommand, enrollCommand, listCommand, rmCommand, passkeysCommand, consentsCommand],
};
