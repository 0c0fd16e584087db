/**
 * Per accepted connection: one handler at a time (CONNECT reader → HTTP session or byte relay),
 * behind the socket handlers Bun calls. Intercepted connections are upgraded to TLS in place
 * (server side of `socket.upgradeTLS`), with the leaf chosen from the Service before the
 * handshake: Bun's upgrade takes one certificate, so SNI cannot pick among several.
 */
import type { Socket, SocketHandler } from "bun";
import type { ServerIdentity } from "./host-ca/index.ts";

export interface ConnHandler {
  onClientData(chunk: Buffer): void;
  onClientDrain(): void;
  onClientClose(): void;
  onClientTimeout(): void;
}

export interface ConnState {
  handler?: ConnHandler;
  /** Set once the socket was upgraded: events of the raw side are no longer ours. */
  upgraded?: boolean;
}

export const connectionHandlers = {
  data(s: Socket<ConnState>, chunk: Buffer) {
    if (!s.data.upgraded) s.data.handler?.onClientData(chunk);
  },
  drain(s: Socket<ConnState>) {
    if (!s.data.upgraded) s.data.handler?.onClientDrain();
  },
  close(s: Socket<ConnState>) {
    if (!s.data.upgraded) s.data.handler?.onClientClose();
  },
  error(s: Socket<ConnState>) {
    if (!s.data.upgraded) s.data.handler?.onClientClose();
  },
  timeout(s: Socket<ConnState>) {
    if (s.data.upgraded) return;
    if (s.data.handler) s.data.handler.onClientTimeout();
    else s.end();
  },
} satisfies Partial<SocketHandler<ConnState>>;

/** ALPN toward the agent: http/1.1 only (wire format: length-prefixed). */
const ALPN_HTTP11 = "\x08http/1.1";
const HANDSHAKE_TIMEOUT_SECONDS = 15;

/**
 * Terminates TLS on an accepted plain socket with `identity`; `ready(tlsSocket, sni)` returns the
 * handler once the handshake is done. A failed handshake closes the connection.
 */
export function terminateTls(raw: Socket<ConnState>, identity: ServerIdentity, ready: (tls: Socket<unknown>, sni: string | undefined) => ConnHandler, onFail: (reason: string) => void): void {
  raw.data.upgraded = true;
  const state: ConnState = {};
  const [, tls] = raw.upgradeTLS<ConnState>({
    data: state,
    tls: { cert: identity.cert, key: identity.key, ALPNProtocols: ALPN_HTTP11 } as never,
    socket: {
      ...connectionHandlers,
      open() {},
      handshake(s, success, error) {
        // The agent is not asked for a certificate: `error` here can only be about that; a failed
        // handshake has success=false.
        if (!success) {
          onFail(`TLS handshake with the agent failed: ${(error as { code?: string } | null)?.code ?? "error"}`);
          s.end();
          return;
        }
        s.timeout(0);
        const name = (s as unknown as { getServername(): string | undefined }).getServername?.();
        state.handler = ready(s as Socket<unknown>, name || undefined);
      },
    },
  });
  tls.timeout(HANDSHAKE_TIMEOUT_SECONDS);
}
