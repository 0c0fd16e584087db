/** The CLI side of the admin socket (./socket.ts). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { errnoCode, SluiceError } from "../../errors/index.ts";
import { ADMIN_FILES } from "./socket.ts";
import type { AdminRequest } from "./operations.ts";

export async function callAdminSocket(dataDir: string, request: AdminRequest): Promise<unknown> {
  const tokenPath = join(dataDir, ADMIN_FILES.token);
  let token: string;
  try {
    token = readFileSync(tokenPath, "utf8").trim();
  } catch (err) {
    const code = errnoCode(err);
    if (code === "EACCES") throw new SluiceError("ERR_ADMIN_AUTH", `cannot read ${tokenPath}: run this as the user that runs sluice serve (root: sudo sluice user …)`);
    throw new SluiceError("ERR_ADMIN_UNAVAILABLE", `sluice serve holds the store but has no admin socket (${tokenPath}: ${code ?? String(err)}); is it an older version, or still starting?`);
  }
  let response: Response;
  try {
    response = await fetch("http://sluice/v1/users", {
      unix: join(dataDir, ADMIN_FILES.socket),
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new SluiceError("ERR_ADMIN_UNAVAILABLE", `cannot reach sluice serve on ${join(dataDir, ADMIN_FILES.socket)}: ${(err as Error).message}`);
  }
  const body = (await response.json().catch(() => ({ ok: false, code: "ERR_ADMIN_REPLY", message: `unexpected reply (HTTP ${response.status})` }))) as { ok: boolean; result?: unknown; code?: string; message?: string };
  if (!body.ok) throw new SluiceError(body.code ?? "ERR_ADMIN", body.message ?? "the request failed");
  return body.result;
}
