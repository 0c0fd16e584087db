/**
 * gRPC status codes and the `grpc-message` encoding.
 * @see https://github.com/grpc/grpc/blob/master/doc/statuscodes.md
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md (Responses: Status-Message is percent-encoded)
 */
import { SluiceError } from "../../../errors/index.ts";

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GrpcStatus;
export type GrpcStatusCode = (typeof GrpcStatus)[GrpcStatusName];

const NAMES = new Map<number, GrpcStatusName>(Object.entries(GrpcStatus).map(([k, v]) => [v, k as GrpcStatusName]));

/** `PERMISSION_DENIED` for 7; `UNKNOWN(99)` for codes outside the table. */
export function statusName(code: number): string {
  return NAMES.get(code) ?? `UNKNOWN(${code})`;
}

/**
 * A call that ended with a non-OK status. Servers throw it from handlers (the message goes on the
 * wire: keep it free of secrets); clients receive it. `code` is `ERR_GRPC_<NAME>`.
 */
export class GrpcStatusError extends SluiceError {
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`ERR_GRPC_${statusName(status)}`, message, options);
  }
}

/** Percent-encode every byte outside 0x20–0x7E, and `%` itself, of the UTF-8 message. */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte);
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Inverse of encodeGrpcMessage; malformed escapes are kept as they are (the spec asks for leniency). */
export function decodeGrpcMessage(encoded: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
