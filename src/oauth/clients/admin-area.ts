/**
 * The "clients" admin area (`sluice client rm`): removing a registered client, inside serve (through
 * the registry, which also drops its pending last-use touch) or on the store when serve is stopped.
 */
import { requestObject, stringField, unknownOperation, type AdminArea } from "../../admin/index.ts";
import { SluiceError } from "../../errors/index.ts";

export type ClientAdminRequest = { op: "rm"; clientId: string };

export interface RemovedClient {
  readonly removed: string;
}

/** `remove` returns false when there is no such client (then the operation fails with ERR_CLIENT_NOT_FOUND). */
export function clientsAdminArea(remove: (clientId: string) => Promise<boolean>): AdminArea<ClientAdminRequest> {
  return {
    name: "clients",
    parse(value) {
      const v = requestObject(value);
      if (v.op !== "rm") throw unknownOperation(v.op);
      return { op: "rm", clientId: stringField(v, "clientId", 512) };
    },
    async run(request): Promise<RemovedClient> {
      if (!(await remove(request.clientId))) throw new SluiceError("ERR_CLIENT_NOT_FOUND", `no client ${JSON.stringify(request.clientId)} (see \`sluice client list\`)`);
      return { removed: request.clientId };
    },
  };
}
