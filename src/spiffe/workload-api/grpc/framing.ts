/**
 * gRPC length-prefixed messages: 1 byte compressed flag, 4 bytes big-endian length, the message.
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md (Length-Prefixed-Message)
 */
import { GrpcStatus, GrpcStatusError } from "./status.ts";

const PREFIX = 5;

export function frameMessage(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(PREFIX + message.length);
  new DataView(out.buffer).setUint32(1, message.length, false);
  out.set(message, PREFIX);
  return out;
}

/**
 * Reassembles messages from DATA chunks. The size limit is checked on the prefix, before any
 * message bytes are buffered. Compression is not offered (no `grpc-accept-encoding` but identity),
 * so a compressed message is answered with UNIMPLEMENTED as the compression spec asks.
 */
export class FrameDecoder {
  private buffer: Uint8Array = new Uint8Array(0);

  constructor(private readonly maxMessageBytes: number) {}

  push(chunk: Uint8Array): Uint8Array[] {
    this.buffer = this.buffer.length === 0 ? new Uint8Array(chunk) : concat(this.buffer, chunk);
    const messages: Uint8Array[] = [];
    while (this.buffer.length >= PREFIX) {
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset, PREFIX);
      const compressed = view.getUint8(0);
      const length = view.getUint32(1, false);
      if (compressed !== 0) {
        throw new GrpcStatusError(compressed === 1 ? GrpcStatus.UNIMPLEMENTED : GrpcStatus.INTERNAL, compressed === 1 ? "compressed messages are not supported (grpc-encoding identity only)" : "invalid compressed flag");
      }
      if (length > this.maxMessageBytes) {
        throw new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, `message of ${length} bytes exceeds the limit of ${this.maxMessageBytes}`);
      }
      if (this.buffer.length < PREFIX + length) break;
      messages.push(this.buffer.slice(PREFIX, PREFIX + length));
      this.buffer = this.buffer.subarray(PREFIX + length);
    }
    return messages;
  }

  /** Bytes of an incomplete message still waiting for more data. */
  get pending(): number {
    return this.buffer.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
