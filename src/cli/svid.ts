import { loadConfig } from "../config/index.ts";
import { UsageError } from "../errors/index.ts";
import { fetchJwtSvid, fetchX509Svid, resolveWorkloadEndpoint, SPIFFE_ENDPOINT_SOCKET, writeX509Files } from "../spiffe/workload-api/index.ts";
import { EXIT, type Command, type CommandContext, type FlagSpec } from "./command.ts";
import { configFlag } from "./config-flag.ts";

const socketFlag: FlagSpec = { name: "socket", short: "s", kind: "string", placeholder: "PATH", help: `Workload API socket (default: $${SPIFFE_ENDPOINT_SOCKET}, else workloadSocket from the config)` };

/** --socket, else SPIFFE_ENDPOINT_SOCKET, else the config (read only when needed: an agent may not be able to). */
function endpoint(ctx: CommandContext): string {
  const explicit = typeof ctx.flags.socket === "string" ? ctx.flags.socket : undefined;
  const configSocket = explicit || ctx.env[SPIFFE_ENDPOINT_SOCKET] ? undefined : loadConfig({ file: configFlag(ctx.flags), env: ctx.env }).config.workloadSocket;
  return resolveWorkloadEndpoint({ explicit, env: { ...ctx.env }, configSocket }).path;
}

const x509Command: Command = {
  name: "x509",
  summary: "Fetch this process's X.509-SVID from the Workload API",
  usage: "sluice svid x509 [--write DIR] [--socket PATH] [--json]",
  description: `Asks the SPIFFE Workload API for the X.509-SVID of the calling process: sluice attests the
caller from its socket credentials, so what you get depends on who runs this command (its uid,
binary, cgroup…), exactly as for an agent. Without --write, prints the SPIFFE ID, expiry and the
certificate chain (never the private key). With --write DIR, writes svid.0.pem, svid.0.key (0600)
and bundle.0.pem, like \`spire-agent api fetch x509 -write\`.

Examples:
  sluice svid x509
  SPIFFE_ENDPOINT_SOCKET=unix:///run/sluice/workload.sock sluice svid x509 --write /tmp/svid`,
  flags: [{ name: "write", short: "w", kind: "string", placeholder: "DIR", help: "write svid.0.pem, svid.0.key, bundle.0.pem into DIR" }, socketFlag],
  async run(ctx) {
    const svid = await fetchX509Svid(endpoint(ctx));
    const expires = new Date(svid.expiresAt).toISOString();
    if (typeof ctx.flags.write === "string") {
      const written = writeX509Files(ctx.flags.write, svid);
      if (ctx.flags.json) ctx.out(JSON.stringify({ spiffeId: svid.spiffeId, expiresAt: expires, written }) + "\n");
      else ctx.out(`SPIFFE ID: ${svid.spiffeId}\nexpires:   ${expires}\n${written.map((p) => `wrote ${p}`).join("\n")}\n`);
      return EXIT.ok;
    }
    if (ctx.flags.json) ctx.out(JSON.stringify({ spiffeId: svid.spiffeId, expiresAt: expires, certChainPem: svid.certChainPem, bundlePem: svid.bundlePem }) + "\n");
    else ctx.out(`SPIFFE ID: ${svid.spiffeId}\nexpires:   ${expires}\n${svid.certChainPem.trimEnd()}\n`);
    return EXIT.ok;
  },
};

const jwtCommand: Command = {
  name: "jwt",
  summary: "Fetch a JWT-SVID for an audience from the Workload API",
  usage: "sluice svid jwt --audience A[,B] [--socket PATH] [--json]",
  description: `Asks the SPIFFE Workload API for a JWT-SVID of the calling process (attested by its socket
credentials) for the given audience(s), and prints the token on stdout.

Example:
  curl -H "Authorization: Bearer $(sluice svid jwt --audience https://api.example.com)" …`,
  flags: [{ name: "audience", short: "a", kind: "string", placeholder: "A[,B]", help: "audience(s), comma-separated (required)" }, socketFlag],
  async run(ctx) {
    const raw = ctx.flags.audience;
    const audience = typeof raw === "string" ? raw.split(",").map((a) => a.trim()).filter(Boolean) : [];
    if (audience.length === 0) throw new UsageError("--audience is required (the JWT-SVID's aud)");
    const svid = await fetchJwtSvid(endpoint(ctx), audience);
    if (ctx.flags.json) ctx.out(JSON.stringify({ spiffeId: svid.spiffeId, token: svid.token, expiresAt: svid.expiresAt === undefined ? null : new Date(svid.expiresAt).toISOString() }) + "\n");
    else ctx.out(svid.token + "\n");
    return EXIT.ok;
  },
};

export const svidCommand: Command = {
  name: "svid",
  summary: "Fetch this process's SVIDs from the SPIFFE Workload API",
  usage: "sluice svid COMMAND",
  subcommands: [x509Command, jwtCommand],
};
