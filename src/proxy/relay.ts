/** Bytes relayed untouched between the agent and an upstream (`tls: passthrough`: policy at L4 only). */
import type { Socket } from "bun";
import type { ProxyError } from "./errors.ts";
import { Outbox } from "./outbox.ts";
import { dialUpstream, type UpstreamConn, type UpstreamOwner, type UpstreamTarget } from "./upstream.ts";

export class ByteRelay implements UpstreamOwner {
  readonly out: Outbox;
  readonly up: UpstreamConn;
  #closed = false;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    readonly socket: Socket<unknown>,
    target: UpstreamTarget,
    private readonly onEnd: (relay: ByteRelay, error?: ProxyError) => void,
  ) {
    this.out = new Outbox(socket);
    this.out.onDrained = () => this.up.resume();
    this.up = dialUpstream(target, this);
  }

  onClientData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    if (!this.up.send(chunk)) this.socket.pause();
  }
  onClientDrain(): void {
    this.out.drain();
  }
  onClientClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.up.end();
    this.onEnd(this);
  }
  onClientTimeout(): void {}

  onUpstreamData(chunk: Buffer): void {
    this.bytesOut += chunk.length;
    if (!this.out.send(chunk)) this.up.pause();
  }
  onUpstreamTimeout(): boolean {
    return false;
  }
  onUpstreamDrain(): void {
    this.socket.resume();
  }
  onUpstreamClose(error?: ProxyError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.out.end();
    this.onEnd(this, error);
  }
}
