/**
 * A small gRPC server over node:http2 for sockets that were accepted elsewhere (so the caller's
 * kernel credentials are known before a byte is read): unary and server-streaming methods,
 * identity encoding only.
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 *
 * Each connection gets its own Http2Server, fed with `emit("connection", socket)`, so every call is
 * bound to the peer of the socket it arrived on by a closure, never by a lookup that could mix
 * connections up. (@grpc/grpc-js serves correctly under Bun too, but a handler there can only
 * reach its connection through `getPeer()`'s address string, which for unix sockets is "unknown".)
 *
 * Limits: request message size (checked on the 5-byte prefix), concurrent streams per connection
 * (SETTINGS + REFUSED_STREAM for excess), header list size, time to receive the request, idle
 * connections (no open stream), and the send buffer of a stream whose peer stops reading.
 */
import * as http2 from "node:http2";
import type { Socket } from "node:net";
import type { Logger } from "../../../log/index.ts";
import { FrameDecoder, frameMessage } from "./framing.ts";
import { GrpcStatus, GrpcStatusError, encodeGrpcMessage, statusName } from "./status.ts";

export interface GrpcServerLimits {
  /** Largest request message accepted (bytes). */
  maxReceiveMessageBytes: number;
  /** Open streams per connection; more are refused. */
  maxConcurrentStreams: number;
  /** Request headers, names + values (bytes). */
  maxHeaderListBytes: number;
  /** A connection without open streams for this long is closed (GOAWAY). */
  idleTimeoutMs: number;
  /** The request message and END_STREAM must arrive within this time. */
  requestTimeoutMs: number;
  /** A stream whose unsent output exceeds this (the peer stopped reading) is reset. */
  maxSendBufferBytes: number;
}

export type Metadata = Readonly<Record<string, string | string[] | undefined>>;

export interface CallContext<P> {
  readonly peer: P;
  /** `/Service/Method` */
  readonly method: string;
  readonly metadata: Metadata;
  /** Aborted when the call ends for any reason (client cancel, deadline, shutdown, error). */
  readonly signal: AbortSignal;
}

export type MethodHandler<P> =
  | { kind: "unary"; handle(request: Uint8Array, ctx: CallContext<P>): Promise<Uint8Array> }
  | {
      kind: "serverStream";
      /** Resolve to end the stream with OK, throw GrpcStatusError to end it with that status. */
      handle(request: Uint8Array, ctx: CallContext<P>, send: (message: Uint8Array) => void): Promise<void>;
    };

const GRPC_CONTENT_TYPE = /^application\/grpc(\+proto)?(;.*)?$/;
const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const MAX_STATUS_MESSAGE = 1024;

interface Connection {
  readonly socket: Socket;
  session: http2.ServerHttp2Session | undefined;
  readonly calls: Set<ServerCall>;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

export class GrpcServer<P> {
  private readonly connections = new Set<Connection>();
  private closing = false;

  constructor(
    private readonly methods: ReadonlyMap<string, MethodHandler<P>>,
    private readonly limits: GrpcServerLimits,
    private readonly logger: Logger,
  ) {}

  /** Serves one accepted connection whose peer is `peer`. `onClose` runs once when the socket closes. */
  serve(socket: Socket, peer: P, onClose: () => void): void {
    if (this.closing) {
      socket.destroy();
      onClose();
      return;
    }
    const conn: Connection = { socket, session: undefined, calls: new Set(), idleTimer: undefined };
    this.connections.add(conn);
    const h2 = http2.createServer({
      settings: { maxConcurrentStreams: this.limits.maxConcurrentStreams, maxHeaderListSize: this.limits.maxHeaderListBytes, enablePush: false },
      maxSessionMemory: 4,
    });
    h2.on("session", (session) => {
      conn.session = session;
      session.on("error", (err) => this.logger.debug("workload api session error", { err }));
    });
    h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => this.onStream(conn, peer, stream, headers));
    socket.on("error", (err) => this.logger.debug("workload api connection error", { err }));
    socket.once("close", () => {
      clearTimeout(conn.idleTimer);
      for (const call of conn.calls) call.abort();
      this.connections.delete(conn);
      onClose();
    });
    this.armIdle(conn);
    h2.emit("connection", socket);
  }

  /** Ends every open call with UNAVAILABLE (clients reconnect per spec §4.2), then closes connections. */
  async close(graceMs = 1000): Promise<void> {
    this.closing = true;
    const closed = [...this.connections].map((conn) => new Promise<void>((resolve) => (conn.socket.closed ? resolve() : conn.socket.once("close", () => resolve()))));
    for (const conn of this.connections) {
      for (const call of conn.calls) call.finish(GrpcStatus.UNAVAILABLE, "the Workload API is shutting down");
      try {
        conn.session?.close();
      } catch {
        conn.socket.destroy();
      }
    }
    const timer = setTimeout(() => {
      for (const conn of this.connections) conn.socket.destroy();
    }, graceMs);
    await Promise.all(closed);
    clearTimeout(timer);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private armIdle(conn: Connection): void {
    clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(() => {
      this.logger.debug("closing idle workload api connection");
      if (conn.session && !conn.session.closed) conn.session.close();
      // A peer that never spoke HTTP/2 (or ignores GOAWAY) is cut off shortly after.
      setTimeout(() => conn.socket.destroy(), 1000).unref?.();
    }, this.limits.idleTimeoutMs);
  }

  private onStream(conn: Connection, peer: P, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const call = new ServerCall(stream, this.limits.maxSendBufferBytes, this.logger);
    conn.calls.add(call);
    clearTimeout(conn.idleTimer);
    stream.on("error", (err) => this.logger.debug("workload api stream error", { err }));
    stream.once("close", () => {
      call.abort();
      conn.calls.delete(call);
      if (conn.calls.size === 0 && !this.closing) this.armIdle(conn);
    });

    if (this.closing) return call.finish(GrpcStatus.UNAVAILABLE, "the Workload API is shutting down");
    // The SETTINGS value is advisory for the peer; enforce it here as well.
    if (conn.calls.size > this.limits.maxConcurrentStreams) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    if (headers[":method"] !== "POST") return call.respondHttp(405);
    const contentType = headers["content-type"];
    if (typeof contentType !== "string" || !GRPC_CONTENT_TYPE.test(contentType)) return call.respondHttp(415);
    if (headerBytes(headers) > this.limits.maxHeaderListBytes) return call.finish(GrpcStatus.RESOURCE_EXHAUSTED, "request headers too large");

    const path = String(headers[":path"] ?? "");
    const method = this.methods.get(path);
    if (!method) return call.finish(GrpcStatus.UNIMPLEMENTED, `unknown method ${path.slice(0, 200)}`);

    const timeout = headers["grpc-timeout"];
    if (typeof timeout === "string") {
      const m = GRPC_TIMEOUT.exec(timeout);
      if (!m) return call.finish(GrpcStatus.INTERNAL, `invalid grpc-timeout ${JSON.stringify(timeout.slice(0, 20))}`);
      call.setDeadline(Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]!);
    }

    const ctx: CallContext<P> = { peer, method: path, metadata: headers, signal: call.signal };
    this.readRequest(call, stream).then(
      (request) => {
        if (request === undefined || call.signal.aborted) return;
        return method.kind === "unary"
          ? method.handle(request, ctx).then((response) => {
              call.send(response);
              call.finish(GrpcStatus.OK);
            })
          : method.handle(request, ctx, (message) => call.send(message)).then(() => call.finish(GrpcStatus.OK));
      },
    ).catch((err: unknown) => {
      if (err instanceof GrpcStatusError) return call.finish(err.status, err.message);
      this.logger.error("workload api handler failed", { method: path, err });
      call.finish(GrpcStatus.INTERNAL, "internal error");
    });
  }

  /** The single request message of a unary or server-streaming call, or undefined if the call already ended. */
  private readRequest(call: ServerCall, stream: http2.ServerHttp2Stream): Promise<Uint8Array | undefined> {
    return new Promise((resolve, reject) => {
      const decoder = new FrameDecoder(this.limits.maxReceiveMessageBytes);
      const messages: Uint8Array[] = [];
      const timer = setTimeout(() => reject(new GrpcStatusError(GrpcStatus.DEADLINE_EXCEEDED, "the request message did not arrive in time")), this.limits.requestTimeoutMs);
      const fail = (err: unknown) => {
        clearTimeout(timer);
        stream.removeAllListeners("data");
        reject(err);
      };
      call.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve(undefined);
      });
      stream.on("data", (chunk: Buffer) => {
        try {
          messages.push(...decoder.push(chunk));
          if (messages.length > 1) fail(new GrpcStatusError(GrpcStatus.INTERNAL, "expected exactly one request message"));
        } catch (err) {
          fail(err);
        }
      });
      stream.once("end", () => {
        clearTimeout(timer);
        if (messages.length !== 1 || decoder.pending > 0) reject(new GrpcStatusError(GrpcStatus.INTERNAL, "expected exactly one request message"));
        else resolve(messages[0]);
      });
    });
  }
}

/** One HTTP/2 stream carrying one gRPC call: response headers, messages, then trailers exactly once. */
class ServerCall {
  private headersSent = false;
  private finished = false;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private readonly controller = new AbortController();

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly maxSendBufferBytes: number,
    private readonly logger: Logger,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private get writable(): boolean {
    return !this.stream.closed && !this.stream.destroyed;
  }

  setDeadline(ms: number): void {
    this.deadline = setTimeout(() => this.finish(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded"), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  }

  abort(): void {
    clearTimeout(this.deadline);
    if (!this.controller.signal.aborted) this.controller.abort();
  }

  send(message: Uint8Array): void {
    if (this.finished || !this.writable) return;
    if (!this.headersSent) {
      this.stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": "identity" }, { waitForTrailers: true });
      this.headersSent = true;
    }
    this.stream.write(frameMessage(message));
    if (this.stream.writableLength > this.maxSendBufferBytes) {
      this.logger.warn("workload api client is not reading its stream; resetting it", { buffered: this.stream.writableLength });
      this.finished = true;
      this.abort();
      this.stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }

  /** Ends the call with `status` (trailers-only when nothing was sent yet). Idempotent. */
  finish(status: number, message?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.abort();
    if (!this.writable) return;
    const trailers: Record<string, string> = { "grpc-status": String(status) };
    if (message) trailers["grpc-message"] = encodeGrpcMessage(message.slice(0, MAX_STATUS_MESSAGE));
    if (status !== GrpcStatus.OK) this.logger.debug("workload api call failed", { status: statusName(status), message });
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond({ ":status": 200, "content-type": "application/grpc", ...trailers }, { endStream: true });
      return;
    }
    this.stream.once("wantTrailers", () => {
      if (this.writable) this.stream.sendTrailers(trailers);
    });
    this.stream.end();
  }

  /** A non-gRPC HTTP answer (wrong method or content type), as the gRPC HTTP/2 spec asks. */
  respondHttp(status: number): void {
    this.finished = true;
    this.abort();
    if (this.writable && !this.headersSent) this.stream.respond({ ":status": status }, { endStream: true });
    this.headersSent = true;
  }
}

function headerBytes(headers: http2.IncomingHttpHeaders): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers)) {
    n += k.length + 32; // RFC 7541 §4.1 entry overhead
    if (Array.isArray(v)) for (const item of v) n += item.length;
    else if (v !== undefined) n += String(v).length;
  }
  return n;
}
