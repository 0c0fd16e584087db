/**
 * Destination → Service, from the policy snapshot in force. A redirected connection carries an
 * IP address: a Service written with a host name is found through the names' resolved addresses
 * (the same resolver the kernel maps are built from), rebuilt when the snapshot changes or after
 * a few seconds.
 */
import { isIP } from "node:net";
import type { CompiledService, PolicySnapshot } from "../policy/index.ts";

export interface PolicySource {
  current(): PolicySnapshot;
}

/** The subset of HostResolver (src/dns) used here. */
export interface HostAddresses {
  cached(host: string): { readonly v4: readonly string[]; readonly v6: readonly string[] };
}

export interface ResolvedService {
  readonly service: CompiledService;
  /** The name the agent used or most likely used: the Service's host name when it has one. */
  readonly host: string;
}

const REVERSE_TTL_MS = 5_000;

export class ServiceDirectory {
  #reverse: { snapshot: PolicySnapshot; at: number; map: Map<string, ResolvedService> } | undefined;

  constructor(
    readonly policy: PolicySource,
    readonly resolver?: HostAddresses,
    readonly now: () => number = Date.now,
  ) {}

  at(address: string, port: number): ResolvedService | undefined {
    const snapshot = this.policy.current();
    const direct = snapshot.servicesAt(address, port)[0];
    if (direct) return { service: direct, host: isIP(address) ? (hostNameOf(direct, port) ?? address) : address.toLowerCase() };
    if (!isIP(address) || !this.resolver) return undefined;
    return this.#reverseIndex(snapshot).get(`${address}|${port}`);
  }

  #reverseIndex(snapshot: PolicySnapshot): Map<string, ResolvedService> {
    const r = this.#reverse;
    if (r && r.snapshot === snapshot && this.now() - r.at < REVERSE_TTL_MS) return r.map;
    const map = new Map<string, ResolvedService>();
    for (const service of snapshot.services()) {
      for (const a of service.addresses) {
        if (a.kind !== "hostname") continue;
        const ips = this.resolver!.cached(a.address);
        for (const ip of [...ips.v4, ...ips.v6]) {
          const key = `${ip}|${a.port}`;
          if (!map.has(key)) map.set(key, { service, host: a.address });
        }
      }
    }
    this.#reverse = { snapshot, at: this.now(), map };
    return map;
  }
}

function hostNameOf(service: CompiledService, port: number): string | undefined {
  return service.addresses.find((a) => a.kind === "hostname" && a.port === port)?.address ?? service.addresses.find((a) => a.kind === "hostname")?.address;
}

/** Every name (host names and IP literals) of each intercepted Service: the leaves to mint ahead of time. */
export function interceptNameSets(snapshot: PolicySnapshot): string[][] {
  return snapshot
    .services()
    .filter((s) => s.tls === "intercept")
    .map((s) => [...new Set(s.addresses.map((a) => a.address))]);
}
