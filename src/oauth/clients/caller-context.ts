/**
 * The `CallerContext` of a request: who is calling besides what the request says.
 *
 * The mTLS listener (and any other listener sluice runs itself) attaches the context to the
 * `Request` object it builds, in a WeakMap. Nothing in the request (no header, no parameter) can
 * put an entry there, so a request arriving on the public listener never carries peer
 * certificates or an attested SPIFFE ID it did not earn; the entry dies with the request.
 * For requests Bun's server accepted, `callerContextFor` reads the socket address and, for a
 * loopback peer, asks the caller-supplied attestation function for the workload's SPIFFE ID.
 */
import { attestLoopbackPeer, type LoopbackPeer } from "../../identity/tcp-peer.ts";
import type { CallerContext } from "../types.ts";

const attached = new WeakMap<Request, CallerContext>();

export function attachCallerContext(request: Request, caller: CallerContext): void {
  attached.set(request, Object.freeze({ ...caller }));
}

/** Maps an attested local process to its SPIFFE ID (the lead wires `Attestor.identify` here). */
export type AttestPeer = (peer: LoopbackPeer) => Promise<string | undefined>;

/** Minimal view of Bun's `Server` (Elysia passes it to handlers as `server`). */
export interface RequestIpSource {
  requestIP(request: Request): { address: string; port: number } | null;
  readonly port?: number;
}

/**
 * The context for `request`: what a sluice listener attached, else the socket's remote address
 * (from Bun's server) and, when `attest` is given and the peer is on loopback, its SPIFFE ID.
 */
export async function callerContextFor(request: Request, server: RequestIpSource | null | undefined, attest?: AttestPeer): Promise<CallerContext> {
  const known = attached.get(request);
  if (known) return known;
  const ip = server?.requestIP(request) ?? null;
  if (!ip) return {};
  const base = { remoteAddress: ip.address, remotePort: ip.port };
  if (!attest || server?.port === undefined) return base;
  const peer = attestLoopbackPeer({ remoteAddress: ip.address, remotePort: ip.port, localPort: server.port });
  if (!peer) return base;
  const spiffeId = await attest(peer);
  return spiffeId === undefined ? base : { ...base, attestedSpiffeId: spiffeId };
}
