/**
 * The admin socket: how `sluice user …` reaches a running `sluice serve`, which holds the store's
 * exclusive lock. A unix socket `<dataDir>/admin.sock` (mode 0600, in the 0700 data dir) plus a
 * bearer token in `<dataDir>/admin.token` (mode 0600, fresh on every start): only the account
 * that runs serve (root) can connect and read the token. Nothing listens on the network.
 */
import { chmodSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../log/index.ts";
import { UserError } from "../names.ts";
import { constantTimeEqual, randomToken } from "../secrets.ts";
import { parseAdminRequest, type UserAdmin } from "./operations.ts";

export const ADMIN_FILES = { socket: "admin.sock", token: "admin.token" } as const;
const MAX_ADMIN_BODY = 16 * 1024;

export interface AdminSocket {
  readonly path: string;
  stop(): Promise<void>;
}

export function startAdminSocket(dataDir: string, admin: UserAdmin, logger: Logger): AdminSocket {
  const path = join(dataDir, ADMIN_FILES.socket);
  const tokenPath = join(dataDir, ADMIN_FILES.token);
  const token = randomToken(32);
  // We hold the store lock, so a socket or token left here is from a previous run.
  rmSync(path, { force: true });
  writeFileSync(`${tokenPath}.tmp`, token + "\n", { mode: 0o600 });
  renameSync(`${tokenPath}.tmp`, tokenPath);
  const server = Bun.serve({
    unix: path,
    maxRequestBodySize: MAX_ADMIN_BODY,
    async fetch(request) {
      const auth = request.headers.get("authorization") ?? "";
      if (!constantTimeEqual(auth, `Bearer ${token}`)) return reply(401, { ok: false, code: "ERR_ADMIN_AUTH", message: `wrong or missing admin token (read it from ${tokenPath})` });
      if (request.method !== "POST" || new URL(request.url).pathname !== "/v1/users") return reply(404, { ok: false, code: "ERR_ADMIN_OP", message: "POST /v1/users only" });
      try {
        const text = await request.text();
        if (text.length > MAX_ADMIN_BODY) throw new UserError("ERR_ADMIN_REQUEST", "request too large");
        const result = admin.run(parseAdminRequest(JSON.parse(text)));
        return reply(200, { ok: true, result });
      } catch (err) {
        if (err instanceof UserError) return reply(400, { ok: false, code: err.code, message: err.message });
        if (err instanceof SyntaxError) return reply(400, { ok: false, code: "ERR_ADMIN_REQUEST", message: "the request is not JSON" });
        logger.error("admin request failed", { error: err });
        return reply(500, { ok: false, code: "ERR_INTERNAL", message: "internal error; see the sluice log" });
      }
    },
  });
  chmodSync(path, 0o600);
  logger.info("admin socket listening", { path });
  return {
    path,
    async stop() {
      await server.stop(true);
      rmSync(path, { force: true });
      rmSync(tokenPath, { force: true });
    },
  };
}

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
