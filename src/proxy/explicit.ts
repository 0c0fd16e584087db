/**
 * The explicit proxy's first exchange (clients with HTTPS_PROXY): one `CONNECT host:port` request
 * head, bounded, then the tunnel is handed on. Anything else gets a clear error and is closed.
 */
import type { Socket } from "bun";
import { isIP } from "node:net";
import type { ConnHandler } from "./connection.ts";
import { ProxyError } from "./errors.ts";
import { parseRequestHead } from "./http/head.ts";
import type { HttpLimits } from "./http/limits.ts";
import { simpleResponse } from "./http/serialize.ts";

const CRLFCRLF = Buffer.from("\r\n\r\n");

export function parseConnectTarget(target: string): { host: string; port: number } {
  // RFC 9110 §9.3.6: CONNECT uses authority-form host:port; IPv6 in brackets.
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(target);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65_535) throw new ProxyError("ERR_PROXY_MALFORMED", "CONNECT target must be host:port", 400);
  const host = (m[1] ?? m[2]!).toLowerCase();
  if (m[1] && isIP(host) !== 6) throw new ProxyError("ERR_PROXY_MALFORMED", "invalid IPv6 address in CONNECT target", 400);
  return { host, port };
}

export class ConnectReader implements ConnHandler {
  #buf = Buffer.alloc(0);
  #done = false;

  constructor(
    readonly socket: Socket<unknown>,
    readonly limits: HttpLimits,
    /** Called with the target and any bytes that followed the head; returns false if refused (already answered). */
    readonly onConnect: (target: { host: string; port: number }, rest: Buffer) => void,
  ) {}

  onClientData(chunk: Buffer): void {
    if (this.#done) return;
    this.#buf = Buffer.concat([this.#buf, chunk]);
    const end = this.#buf.indexOf(CRLFCRLF);
    if (end < 0) {
      if (this.#buf.length > this.limits.maxHeadBytes) this.refuse(new ProxyError("ERR_PROXY_HEAD_TOO_LARGE", "CONNECT head too large", 431));
      return;
    }
    try {
      const head = parseRequestHead(this.#buf.toString("latin1", 0, end), this.limits);
      if (head.method !== "CONNECT") throw new ProxyError("ERR_PROXY_UNSUPPORTED", "this proxy only tunnels with CONNECT (set HTTPS_PROXY, not HTTP_PROXY)", 405);
      const target = parseConnectTarget(head.target);
      this.#done = true;
      this.socket.pause();
      this.onConnect(target, this.#buf.subarray(end + 4));
    } catch (err) {
      this.refuse(err instanceof ProxyError ? err : new ProxyError("ERR_PROXY_MALFORMED", String(err), 400));
    }
  }

  refuse(error: ProxyError): void {
    this.#done = true;
    this.socket.write(simpleResponse(error.status, `sluice: ${error.message}\n`, { close: true }));
    this.socket.end();
  }

  onClientDrain(): void {}
  onClientClose(): void {
    this.#done = true;
  }
  onClientTimeout(): void {
    this.refuse(new ProxyError("ERR_PROXY_MALFORMED", "CONNECT request not received in time", 408));
  }
}
