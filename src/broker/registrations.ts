/**
 * The broker's client registrations at upstream authorization servers (RFC 7591), one per
 * (credential source, upstream issuer), sealed (they may carry a client secret) and reused.
 */
import { defineDatabase, type Sealer, type Store } from "../store/index.ts";
import type { UpstreamClient } from "./oauth-client.ts";

export const registrationsDb = defineDatabase<[string, string], { sealed: Uint8Array; createdAt: number }>({ name: "broker.registrations" });

export class Registrations {
  readonly #db;
  readonly #sealer: Sealer;

  constructor(store: Store) {
    this.#db = store.db(registrationsDb);
    this.#sealer = store.sealer("broker-registrations");
  }

  get(source: string, issuer: string): UpstreamClient | undefined {
    const v = this.#db.get([source, issuer]);
    return v ? (JSON.parse(this.#sealer.openString(v.sealed, aad(source, issuer))) as UpstreamClient) : undefined;
  }

  put(source: string, issuer: string, client: UpstreamClient): Promise<boolean> {
    return this.#db.put([source, issuer], { sealed: this.#sealer.seal(JSON.stringify(client), aad(source, issuer)), createdAt: Date.now() });
  }
}

function aad(source: string, issuer: string): string {
  return `broker.registrations/${source}/${issuer}`;
}
