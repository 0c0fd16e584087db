/**
 * The protobuf wire format, just enough for the Workload API messages: varints, length-delimited
 * fields (strings, bytes, sub-messages, map entries) and 64-bit doubles (google.protobuf.Value).
 * @see https://protobuf.dev/programming-guides/encoding/
 *
 * Decoding is strict about the bytes (truncation, overlong varints, groups are errors) and lenient
 * about content the way proto3 is: unknown fields are skipped.
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** Malformed protobuf bytes. The gRPC layer answers it with INVALID_ARGUMENT / INTERNAL. */
export class ProtoDecodeError extends Error {
  readonly code = "ERR_PROTO_DECODE";
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Builds a message as a list of chunks; `finish()` concatenates once. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  private varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`protobuf: varint out of range: ${value}`);
    const out: number[] = [];
    let v = value;
    while (v > 0x7f) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** A length-delimited field; proto3 omits empty singular fields, callers decide (`always` for repeated). */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** Singular proto3 string/bytes: nothing on the wire when empty. */
  optionalString(field: number, value: string | undefined): this {
    return value ? this.string(field, value) : this;
  }

  optionalBytes(field: number, value: Uint8Array | undefined): this {
    return value && value.length > 0 ? this.bytes(field, value) : this;
  }

  uint(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  double(field: number, value: number): this {
    this.tag(field, WIRE_I64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.push(b);
    return this;
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** One decoded field. `bytes` is a view into the input (copy it if it must outlive the buffer). */
export type ProtoField =
  | { field: number; wireType: typeof WIRE_VARINT; value: number }
  | { field: number; wireType: typeof WIRE_I64; value: DataView }
  | { field: number; wireType: typeof WIRE_LEN; value: Uint8Array }
  | { field: number; wireType: typeof WIRE_I32; value: DataView };

/** Iterates the top-level fields of one message. Throws ProtoDecodeError on malformed input. */
export function* readFields(buf: Uint8Array): Generator<ProtoField> {
  let at = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= buf.length) throw new ProtoDecodeError("truncated varint");
      const b = buf[at++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        // Values above 2^53 lose precision; nothing in these messages comes close (lengths, tags, enums).
        if (!Number.isSafeInteger(result)) throw new ProtoDecodeError("varint too large");
        return result;
      }
      scale *= 0x80;
    }
    throw new ProtoDecodeError("varint longer than 10 bytes");
  };
  const take = (n: number): Uint8Array => {
    if (n > buf.length - at) throw new ProtoDecodeError("truncated field");
    const v = buf.subarray(at, at + n);
    at += n;
    return v;
  };

  while (at < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) throw new ProtoDecodeError("field number 0");
    switch (wireType) {
      case WIRE_VARINT:
        yield { field, wireType, value: varint() };
        break;
      case WIRE_I64: {
        const b = take(8);
        yield { field, wireType, value: new DataView(b.buffer, b.byteOffset, 8) };
        break;
      }
      case WIRE_LEN:
        yield { field, wireType, value: take(varint()) };
        break;
      case WIRE_I32: {
        const b = take(4);
        yield { field, wireType, value: new DataView(b.buffer, b.byteOffset, 4) };
        break;
      }
      default:
        // 3/4 are proto2 groups (never in these messages), 6/7 do not exist.
        throw new ProtoDecodeError(`unsupported wire type ${wireType} for field ${field}`);
    }
  }
}

/** A length-delimited field expected for `name`; anything else is a type mismatch. */
export function expectLen(f: ProtoField, name: string): Uint8Array {
  if (f.wireType !== WIRE_LEN) throw new ProtoDecodeError(`${name}: expected a length-delimited field, got wire type ${f.wireType}`);
  return f.value;
}

export function decodeString(f: ProtoField, name: string): string {
  const bytes = expectLen(f, name);
  try {
    return utf8Strict.decode(bytes);
  } catch {
    throw new ProtoDecodeError(`${name}: not valid UTF-8`);
  }
}

/** A copy, so the result does not pin (or alias) the whole received frame. */
export function decodeBytes(f: ProtoField, name: string): Uint8Array {
  return expectLen(f, name).slice();
}

/** A `map<string, V>` entry: key = field 1, value = field 2. */
export function readMapEntry(buf: Uint8Array, name: string): { key: string; value: ProtoField | undefined } {
  let key = "";
  let value: ProtoField | undefined;
  for (const f of readFields(buf)) {
    if (f.field === 1) key = decodeString(f, `${name} key`);
    else if (f.field === 2) value = f;
  }
  return { key, value };
}
