/**
 * How a CLI command runs an admin operation: straight on the store when no `sluice serve` holds
 * it, else through serve's admin socket (the store's lock says which). Either way the same
 * AdminArea code runs, so both paths behave alike.
 */
import { openStore, StoreError, type Store } from "../store/index.ts";
import { callAdminSocket, type CallAdminOptions } from "./client.ts";

export interface StoreOrServeOptions extends CallAdminOptions {
  readonly dataDir: string;
  /** The area's name (`POST /v1/<area>` on the socket). */
  readonly area: string;
  readonly request: unknown;
  /** Runs the request on the store this process opened (serve is not running); the store is closed afterwards. */
  readonly direct: (store: Store) => Promise<unknown>;
}

export async function runOnStoreOrServe(options: StoreOrServeOptions): Promise<unknown> {
  let store: Store;
  try {
    store = await openStore({ dataDir: options.dataDir });
  } catch (err) {
    if (err instanceof StoreError && err.code === "ERR_STORE_LOCKED") return callAdminSocket(options.dataDir, options.area, options.request, options);
    throw err;
  }
  try {
    return await options.direct(store);
  } finally {
    await store.close();
  }
}
