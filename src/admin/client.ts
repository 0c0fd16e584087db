/** The CLI side of serve's admin socket (./socket.ts). */
import { readFileSync } from "node:fs";
import { errnoCode, SluiceError } from "../errors/index.ts";
import { AdminError } from "./area.ts";
import { adminPaths } from "./files.ts";

export interface CallAdminOptions {
  /** How long to wait for serve's reply (default 10 s; operations that call upstreams need more). */
  readonly timeoutMs?: number;
}

/** Sends one request to `POST /v1/<area>`; returns the result or throws the operation's code and message. */
export async function callAdminSocket(dataDir: string, area: string, request: unknown, options: CallAdminOptions = {}): Promise<unknown> {
  const paths = adminPaths(dataDir);
  let token: string;
  try {
    token = readFileSync(paths.token, "utf8").trim();
  } catch (err) {
    const code = errnoCode(err);
    if (code === "EACCES") throw new AdminError("ERR_ADMIN_AUTH", `cannot read ${paths.token}: run this as the user that runs sluice serve (root: sudo sluice …)`);
    throw new AdminError("ERR_ADMIN_UNAVAILABLE", `sluice serve holds the store but has no admin socket (${paths.token}: ${code ?? String(err)}): it may be an older version or still starting; wait, or stop \`sluice serve\` and run this again`);
  }
  let response: Response;
  try {
    response = await fetch(`http://sluice/v1/${area}`, {
      unix: paths.socket,
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new AdminError("ERR_ADMIN_UNAVAILABLE", `cannot reach sluice serve on ${paths.socket}: ${(err as Error).message}`);
  }
  const body = (await response.json().catch(() => ({ ok: false, code: "ERR_ADMIN_REPLY", message: `unexpected reply (HTTP ${response.status})` }))) as { ok: boolean; result?: unknown; code?: string; message?: string };
  if (!body.ok) throw new SluiceError(body.code ?? "ERR_ADMIN", body.message ?? "the request failed");
  return body.result;
}
