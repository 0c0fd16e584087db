/** A CallerIdentifier that matches by uid, recording every peer it was asked about. */
import { readFileSync } from "node:fs";
import type { CallerIdentifier, CallerIdentity, CallerPeer } from "../../../../src/spiffe/workload-api/index.ts";

export class UidCallers implements CallerIdentifier {
  private readonly byUid = new Map<number, CallerIdentity>();
  private readonly listeners = new Set<() => void>();
  readonly seen: { pid: number; uid: number; gid: number }[] = [];
  /** For each identify() that carried a pidfd: the pid the kernel says that pidfd refers to. */
  readonly pidfdPids: number[] = [];
  /** Make identify() throw (attestor trouble). */
  fail = false;
  /** Runs inside identify(), after the lookup (e.g. to make the caller exit mid-attestation). */
  during?: (peer: { pid: number; uid: number; gid: number }) => Promise<void>;

  set(uid: number, identity: CallerIdentity | undefined): void {
    if (identity) this.byUid.set(uid, identity);
    else this.byUid.delete(uid);
    for (const fn of [...this.listeners]) fn();
  }

  async identify(peer: CallerPeer): Promise<CallerIdentity | undefined> {
    this.seen.push({ pid: peer.pid, uid: peer.uid, gid: peer.gid });
    if (peer.pidfd !== undefined) {
      const line = readFileSync(`/proc/self/fdinfo/${peer.pidfd}`, "utf8").match(/^Pid:\s*(-?\d+)/m);
      if (line) this.pidfdPids.push(Number(line[1]));
    }
    if (this.fail) throw new Error("attestor down");
    const found = this.byUid.get(peer.uid);
    await this.during?.(peer);
    return found;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
