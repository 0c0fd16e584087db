/**
 * A minimal gRPC client over node:http2 on a unix socket: one call per connection, enough for
 * `sluice svid` (a unary call, or the first message of a server stream).
 */
import * as http2 from "node:http2";
import { statSync } from "node:fs";
import { connect } from "node:net";
import { SluiceError, errnoCode } from "../../../errors/index.ts";
import { FrameDecoder, frameMessage } from "./framing.ts";
import { GrpcStatus, GrpcStatusError, decodeGrpcMessage } from "./status.ts";

export interface GrpcCallOptions {
  /** Whole call, connect included. */
  timeoutMs?: number;
  /** Extra request metadata (lowercase names). */
  metadata?: Record<string, string>;
  /** For server streams: return after this many messages and cancel the stream. */
  stopAfter?: number;
  maxMessageBytes?: number;
}

/** The socket cannot be reached at all (missing, refused, not permitted). */
export class EndpointUnreachableError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_WORKLOAD_API_UNREACHABLE", message, options);
  }
}

export async function grpcCall(socketPath: string, method: string, request: Uint8Array, options: GrpcCallOptions = {}): Promise<Uint8Array[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  checkSocket(socketPath);
  return new Promise<Uint8Array[]>((resolve, reject) => {
    let settled = false;
    const session = http2.connect("http://localhost", { createConnection: () => connect(socketPath) });
    const finish = (err: unknown, messages?: Uint8Array[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      if (err) reject(err);
      else resolve(messages ?? []);
    };
    const timer = setTimeout(
      () => finish(new GrpcStatusError(GrpcStatus.DEADLINE_EXCEEDED, `no answer from the Workload API at ${socketPath} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    session.on("error", (err) => finish(connectError(err, socketPath)));

    const req = session.request({
      ":method": "POST",
      ":path": method,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": `${Math.max(1, Math.ceil(timeoutMs))}m`,
      ...options.metadata,
    });
    const decoder = new FrameDecoder(options.maxMessageBytes ?? 4 * 1024 * 1024);
    const messages: Uint8Array[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};

    req.on("response", (headers) => {
      head = headers;
      const status = Number(headers[":status"]);
      if (status !== 200) finish(new GrpcStatusError(GrpcStatus.UNKNOWN, `the Workload API answered HTTP ${status} (is ${socketPath} really a SPIFFE Workload API socket?)`));
    });
    req.on("data", (chunk: Buffer) => {
      try {
        messages.push(...decoder.push(chunk));
      } catch (err) {
        return finish(err);
      }
      if (options.stopAfter !== undefined && messages.length >= options.stopAfter) {
        req.close(http2.constants.NGHTTP2_CANCEL);
        finish(undefined, messages.slice(0, options.stopAfter));
      }
    });
    req.on("trailers", (headers) => (trailers = headers));
    req.on("error", (err) => finish(connectError(err, socketPath)));
    req.on("close", () => {
      const raw = trailers["grpc-status"] ?? head["grpc-status"];
      if (raw === undefined) return finish(new GrpcStatusError(GrpcStatus.UNAVAILABLE, "the Workload API closed the call without a status"));
      const code = Number(raw);
      const message = decodeGrpcMessage(String(trailers["grpc-message"] ?? head["grpc-message"] ?? ""));
      if (code !== GrpcStatus.OK) return finish(new GrpcStatusError(code, message));
      if (decoder.pending > 0) return finish(new GrpcStatusError(GrpcStatus.INTERNAL, "the Workload API sent a truncated message"));
      finish(undefined, messages);
    });
    req.end(frameMessage(request));
  });
}

function checkSocket(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") throw new EndpointUnreachableError(`no Workload API socket at ${path} (is "sluice serve" running?)`, { cause: err });
    throw new EndpointUnreachableError(`cannot reach the Workload API socket ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!st.isSocket()) throw new EndpointUnreachableError(`${path} is not a socket (check SPIFFE_ENDPOINT_SOCKET or workloadSocket)`);
}

function connectError(err: Error, path: string): Error {
  if (err instanceof GrpcStatusError) return err;
  const code = errnoCode(err) ?? errnoCode((err as { cause?: unknown }).cause) ?? (/ECONNREFUSED/.test(err.message) ? "ECONNREFUSED" : undefined);
  if (code === "ECONNREFUSED") return new EndpointUnreachableError(`nothing is serving the Workload API on ${path} (is "sluice serve" running?)`, { cause: err });
  if (code === "ENOENT") return new EndpointUnreachableError(`no Workload API socket at ${path} (is "sluice serve" running?)`, { cause: err });
  if (code === "EACCES" || code === "EPERM") return new EndpointUnreachableError(`permission denied connecting to ${path}`, { cause: err });
  return new GrpcStatusError(GrpcStatus.UNAVAILABLE, `Workload API connection failed: ${err.message}`, { cause: err });
}
