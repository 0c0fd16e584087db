/**
 * Connections to upstreams (`Bun.connect`, TLS verified) and a shared pool of idle ones per
 * (Service, address, port, TLS identity). Bytes written before the TLS handshake completes are
 * queued here (Bun drops them otherwise, FACTS.md) and flushed once the peer is verified.
 */
import type { Socket } from "bun";
import { ProxyError } from "./errors.ts";
import { Outbox } from "./outbox.ts";
import { verifyUpstreamPeer, type UpstreamTls } from "./upstream-tls.ts";

export interface UpstreamTarget {
  /** Pool key: Service, address, port and TLS identity. */
  readonly key: string;
  readonly service: string;
  readonly address: string;
  readonly port: number;
  /** Inactivity timeout (response head wait, pooled idle). Default 120. */
  readonly timeoutSeconds?: number;
  /** Absent: plain TCP (passthrough relays only). */
  readonly tls?: UpstreamTls;
}

export interface UpstreamOwner {
  onUpstreamData(chunk: Buffer): void;
  onUpstreamDrain(): void;
  /** No bytes for the connection's timeout: true to fail the exchange (504), false to keep waiting. */
  onUpstreamTimeout(): boolean;
  /** The connection closed or failed; `error` when it never became usable or broke. */
  onUpstreamClose(error?: ProxyError): void;
}

export class UpstreamConn {
  owner: UpstreamOwner | undefined;
  /** Requests this connection has carried (0 = fresh). */
  uses = 0;
  #ready = false;
  #closed = false;
  #pending: Uint8Array[] = [];
  #pendingEnd = false;
  #out: Outbox | undefined;
  #socket: Socket<UpstreamConn> | undefined;
  #pausedWhileConnecting = false;

  constructor(readonly target: UpstreamTarget) {}

  get closed(): boolean {
    return this.#closed;
  }

  get ready(): boolean {
    return this.#ready;
  }

  attach(socket: Socket<UpstreamConn>): void {
    this.#socket = socket;
    // One inactivity timer for the connection's life: response-head wait while in use, idle while pooled.
    socket.timeout(this.target.timeoutSeconds ?? 120);
    this.#out = new Outbox(socket as Socket<unknown>);
    this.#out.onDrained = () => this.owner?.onUpstreamDrain();
    if (!this.target.tls) this.#becomeReady();
  }

  handshake(success: boolean, error: Error | null): void {
    const socket = this.#socket!;
    const problem = verifyUpstreamPeer(this.target, socket, success, error);
    if (problem) {
      this.fail(new ProxyError("ERR_PROXY_UPSTREAM_IDENTITY", problem, 502));
      return;
    }
    this.#becomeReady();
  }

  #becomeReady(): void {
    this.#ready = true;
    if (this.#pausedWhileConnecting) this.#socket!.pause();
    for (const b of this.#pending) this.#out!.send(b);
    this.#pending = [];
    if (this.#pendingEnd) this.#out!.end();
    else if (!this.#out!.congested) this.owner?.onUpstreamDrain();
  }

  /** Writes (queued before the handshake); false when the caller should pause its source. */
  send(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    if (!this.#ready) {
      // Held until the handshake verified the peer; the caller pauses until onUpstreamDrain.
      this.#pending.push(bytes);
      return false;
    }
    return this.#out!.send(bytes);
  }

  pause(): void {
    if (this.#socket && this.#ready) this.#socket.pause();
    else this.#pausedWhileConnecting = true;
  }

  resume(): void {
    this.#pausedWhileConnecting = false;
    this.#socket?.resume();
  }

  timeout(seconds: number): void {
    this.#socket?.timeout(seconds);
  }

  /** Half-close after queued bytes (passthrough relays). */
  end(): void {
    if (!this.#ready) this.#pendingEnd = true;
    else this.#out?.end();
  }

  drain(): void {
    this.#out?.drain();
  }

  fail(error: ProxyError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#out?.markClosed();
    // Take the owner first: terminate() runs the close handler synchronously.
    const owner = this.owner;
    this.owner = undefined;
    this.#socket?.terminate();
    owner?.onUpstreamClose(error);
  }

  close(): void {
    this.owner = undefined;
    if (this.#closed) return;
    this.#closed = true;
    this.#out?.markClosed();
    this.#socket?.end();
  }

  /** From the socket's close handler. */
  closedByPeer(error?: ProxyError): void {
    if (!error && !this.#ready && this.target.tls) error = new ProxyError("ERR_PROXY_UPSTREAM", "TLS handshake with the upstream did not complete (untrusted certificate or wrong name?)", 502);
    const wasClosed = this.#closed;
    this.#closed = true;
    this.#out?.markClosed();
    const owner = this.owner;
    this.owner = undefined;
    if (!wasClosed || owner) owner?.onUpstreamClose(error);
  }
}

const handlers = {
  open(s: Socket<UpstreamConn>) {
    s.data.attach(s);
  },
  handshake(s: Socket<UpstreamConn>, success: boolean, error: Error | null) {
    s.data.handshake(success, error);
  },
  data(s: Socket<UpstreamConn>, chunk: Buffer) {
    const c = s.data;
    if (c.owner) c.owner.onUpstreamData(chunk);
    // Bytes on an idle pooled connection: the upstream broke framing; never reuse it.
    else c.close();
  },
  drain(s: Socket<UpstreamConn>) {
    s.data.drain();
  },
  close(s: Socket<UpstreamConn>) {
    s.data.closedByPeer();
  },
  error(s: Socket<UpstreamConn>, error: Error) {
    s.data.fail(new ProxyError("ERR_PROXY_UPSTREAM", shortReason(error), 502));
  },
  connectError(s: Socket<UpstreamConn>, error: Error) {
    s.data.fail(new ProxyError("ERR_PROXY_UPSTREAM", shortReason(error), 502));
  },
  timeout(s: Socket<UpstreamConn>) {
    const c = s.data;
    if (!c.owner) c.close();
    else if (c.owner.onUpstreamTimeout()) c.fail(new ProxyError("ERR_PROXY_UPSTREAM", "upstream timed out", 504));
  },
};

export function shortReason(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const text = e?.code ? `${e.code}` : String(e?.message ?? error);
  return text.split("\n")[0]!.slice(0, 160);
}

export function dialUpstream(target: UpstreamTarget, owner: UpstreamOwner | undefined): UpstreamConn {
  const conn = new UpstreamConn(target);
  conn.owner = owner;
  const tls = target.tls;
  Bun.connect<UpstreamConn>({
    hostname: target.address,
    port: target.port,
    data: conn,
    socket: handlers,
    ...(tls
      ? {
          tls: {
            ca: tls.ca,
            serverName: tls.serverName,
            // SPIFFE peers carry no DNS name: Bun's own name check would drop them before `handshake`.
            // verifyUpstreamPeer then accepts only a verified chain (name mismatch the sole error) and
            // checks the URI SAN. Every other upstream: full verification by Bun, never disabled.
            rejectUnauthorized: !tls.expectSpiffeId,
            ...(tls.clientCert ? { cert: tls.clientCert.certPem, key: tls.clientCert.keyPem } : {}),
          },
        }
      : {}),
  }).catch((err: unknown) => conn.fail(new ProxyError("ERR_PROXY_UPSTREAM", shortReason(err), 502)));
  return conn;
}

export interface PoolOptions {
  /** Idle connections kept per key (an idle one closes after its target's timeoutSeconds). */
  readonly maxIdlePerKey: number;
}

/** Idle upstream connections, shared by every client connection to the same target. */
export class UpstreamPool {
  readonly #idle = new Map<string, UpstreamConn[]>();
  #stopped = false;
  constructor(readonly options: PoolOptions = { maxIdlePerKey: 64 }) {}

  acquire(target: UpstreamTarget, owner: UpstreamOwner): UpstreamConn {
    const list = this.#idle.get(target.key);
    while (list && list.length > 0) {
      const c = list.pop()!;
      if (c.closed) continue;
      c.owner = owner;
      c.uses++;
      return c;
    }
    return dialUpstream(target, owner);
  }

  release(conn: UpstreamConn): void {
    conn.owner = undefined;
    if (this.#stopped || conn.closed) return conn.close();
    let list = this.#idle.get(conn.target.key);
    if (!list) this.#idle.set(conn.target.key, (list = []));
    if (list.length >= this.options.maxIdlePerKey) {
      // Prune only when full: closed ones are skipped by acquire anyway.
      for (let i = list.length - 1; i >= 0; i--) if (list[i]!.closed) list.splice(i, 1);
      if (list.length >= this.options.maxIdlePerKey) return conn.close();
    }
    list.push(conn);
  }

  idleCount(): number {
    let n = 0;
    for (const l of this.#idle.values()) n += l.filter((c) => !c.closed).length;
    return n;
  }

  close(): void {
    this.#stopped = true;
    for (const l of this.#idle.values()) for (const c of l) c.close();
    this.#idle.clear();
  }
}
