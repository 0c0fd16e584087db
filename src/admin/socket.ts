/**
 * Serve's admin socket: how the CLI (`sluice user`, `sluice client rm`, `sluice credentials revoke`)
 * reaches a running `sluice serve`, which holds the store's exclusive lock. A unix socket
 * `<dataDir>/admin.sock` (mode 0600, in the 0700 data dir) plus a bearer token in
 * `<dataDir>/admin.token` (mode 0600, fresh on every start): only the account that runs serve
 * (root) can connect and read the token. Nothing listens on the network.
 *
 * Protocol: `POST /v1/<area>` with a JSON request `{op, …}`; the reply is
 * `{ok: true, result}` or `{ok: false, code, message}`.
 */
import { chmodSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { SluiceError } from "../errors/index.ts";
import type { Logger } from "../log/index.ts";
import { AdminError, runOnArea, type AdminArea } from "./area.ts";
import { ADMIN_IDLE_TIMEOUT_SECONDS, adminPaths, MAX_ADMIN_BODY } from "./files.ts";

export interface AdminSocket {
  readonly path: string;
  stop(): Promise<void>;
}

export interface AdminSocketOptions {
  readonly dataDir: string;
  /** The operations each part registers; names must be unique. */
  readonly areas: readonly AdminArea[];
  readonly logger: Logger;
}

export function startAdminSocket(options: AdminSocketOptions): AdminSocket {
  const { socket: path, token: tokenPath } = adminPaths(options.dataDir);
  const logger = options.logger.child({ component: "admin" });
  const areas = new Map<string, AdminArea>();
  for (const area of options.areas) {
    if (areas.has(area.name)) throw new SluiceError("ERR_INTERNAL", `admin area ${area.name} registered twice`);
    areas.set(area.name, area);
  }
  const token = randomBytes(32).toString("base64url");
  const expected = digest(`Bearer ${token}`);
  // The caller holds the store lock, so a socket or token left here is from a previous run.
  rmSync(path, { force: true });
  writeFileSync(`${tokenPath}.tmp`, token + "\n", { mode: 0o600 });
  renameSync(`${tokenPath}.tmp`, tokenPath);

  const serveOptions = {
    unix: path,
    maxRequestBodySize: MAX_ADMIN_BODY,
    // Longer than the CLI's longest wait (credentials revoke calls upstreams): Bun's default (10 s)
    // cuts a slow operation off mid-way. Bun's types omit idleTimeout for unix sockets, yet it
    // applies there (measured: a 12 s request is reset at 10 s without it; server.timeout() does not help).
    idleTimeout: ADMIN_IDLE_TIMEOUT_SECONDS,
    async fetch(request: Request): Promise<Response> {
      if (!timingSafeEqual(digest(request.headers.get("authorization") ?? ""), expected))
        return reply(401, { ok: false, code: "ERR_ADMIN_AUTH", message: `wrong or missing admin token (read it from ${tokenPath})` });
      const name = /^\/v1\/([a-z][a-z0-9-]{0,31})$/.exec(new URL(request.url).pathname)?.[1];
      const area = name === undefined ? undefined : areas.get(name);
      if (!area) return reply(404, { ok: false, code: "ERR_ADMIN_OP", message: `unknown admin area; this serve offers POST /v1/{${[...areas.keys()].join(",")}}` });
      if (request.method !== "POST") return reply(405, { ok: false, code: "ERR_ADMIN_OP", message: "POST only" });
      try {
        const text = await request.text();
        if (text.length > MAX_ADMIN_BODY) throw new AdminError("ERR_ADMIN_REQUEST", "request too large");
        const result = await runOnArea(area, JSON.parse(text));
        return reply(200, { ok: true, result: result ?? null });
      } catch (err) {
        if (err instanceof SyntaxError) return reply(400, { ok: false, code: "ERR_ADMIN_REQUEST", message: "the request is not JSON" });
        if (err instanceof SluiceError) return reply(400, { ok: false, code: err.code, message: err.message });
        logger.error("admin request failed", { area: area.name, error: err });
        return reply(500, { ok: false, code: "ERR_INTERNAL", message: "internal error; see the sluice log" });
      }
    },
  };
  const server = Bun.serve(serveOptions as unknown as Parameters<typeof Bun.serve>[0]);
  chmodSync(path, 0o600);
  logger.info("admin socket listening", { path, areas: [...areas.keys()] });
  return {
    path,
    async stop() {
      await server.stop(true);
      rmSync(path, { force: true });
      rmSync(tokenPath, { force: true });
    },
  };
}

/** Comparing fixed-size digests keeps the check constant-time whatever the header's length. */
function digest(header: string): Buffer {
  return createHash("sha256").update(header).digest();
}

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
