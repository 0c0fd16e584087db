/**
 * Upstream authorizations in progress, by `state`: bound to one pending sluice authorization,
 * unguessable (256 random bits), single use, expiring with the pending authorization. Kept in
 * memory: a restart of sluice ends them (the user starts again), and the PKCE verifier never
 * touches disk.
 */
import type { UpstreamServer } from "./discovery.ts";
import type { UpstreamClient } from "./oauth-client.ts";

export interface UpstreamFlow {
  readonly pendingId: string;
  readonly source: string;
  readonly user: string;
  readonly workload: string;
  readonly service: string;
  readonly resource: string;
  readonly codeVerifier: string;
  readonly server: UpstreamServer;
  readonly client: UpstreamClient;
  readonly redirectUri: string;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

export const MAX_FLOWS = 10_000;
export const FLOW_TTL_MS = 10 * 60_000;

export class UpstreamFlows {
  readonly #byState = new Map<string, UpstreamFlow>();

  constructor(private readonly clock: () => number) {}

  add(state: string, flow: UpstreamFlow): void {
    this.#sweep();
    if (this.#byState.size >= MAX_FLOWS) {
      // Oldest first (Map keeps insertion order).
      const oldest = this.#byState.keys().next().value;
      if (oldest !== undefined) this.#byState.delete(oldest);
    }
    this.#byState.set(state, flow);
  }

  /** The flow for `state`, removed (single use); undefined when unknown or expired. */
  take(state: string): UpstreamFlow | undefined {
    const flow = this.#byState.get(state);
    if (!flow) return undefined;
    this.#byState.delete(state);
    return flow.expiresAt > this.clock() ? flow : undefined;
  }

  get size(): number {
    return this.#byState.size;
  }

  #sweep(): void {
    const now = this.clock();
    for (const [state, flow] of this.#byState) if (flow.expiresAt <= now) this.#byState.delete(state);
  }
}
