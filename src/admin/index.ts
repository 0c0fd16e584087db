/**
 * Serve's admin channel: how CLI commands that write to the store work while `sluice serve` holds
 * its lock. Each part registers an AdminArea (users, clients, broker); serve exposes them all on
 * one unix socket.
 *
 * - `startAdminSocket({dataDir, areas, logger})` → `{path, stop}`: `<dataDir>/admin.sock` (0600) and
 *   `<dataDir>/admin.token` (0600, fresh per start); `POST /v1/<area>` with `{op, …}`.
 * - `runOnStoreOrServe({dataDir, area, request, direct})`: the CLI side: open the store and run the
 *   area directly, or, when serve holds the store, send the request over the socket.
 * - `callAdminSocket(dataDir, area, request)`: the socket call alone.
 * - `AdminArea`, `AdminError`, `runOnArea`, `requestObject`, `stringField`, `unknownOperation`:
 *   for parts defining their operations.
 */
export { AdminError, requestObject, runOnArea, stringField, unknownOperation, type AdminArea } from "./area.ts";
export { callAdminSocket, type CallAdminOptions } from "./client.ts";
export { ADMIN_FILES, ADMIN_IDLE_TIMEOUT_SECONDS, ADMIN_LONGEST_CALL_MS, adminPaths, MAX_ADMIN_BODY } from "./files.ts";
export { startAdminSocket, type AdminSocket, type AdminSocketOptions } from "./socket.ts";
export { runOnStoreOrServe, type StoreOrServeOptions } from "./store-or-serve.ts";
