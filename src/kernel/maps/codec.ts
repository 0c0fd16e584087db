/**
 * How a map's keys and values become bytes. A `MapCodec` is what `BpfMap<K, V>` needs; it is
 * usually built from two `FieldCodec`s (src/kernel/layout.ts provides them for the structs of
 * bpf/include/sluice_shared.h; the primitives below cover plain integer keys and counters).
 *
 * `decode` receives a view of exactly `size` bytes that may sit inside a larger buffer: read it
 * through its byteOffset (a DataView over `b.buffer, b.byteOffset`), never through `b.buffer` alone.
 * layout.ts's StructLayouts are FieldCodecs: `mapCodec(u32Codec, sluiceProc)`.
 */
import type { MapCodec } from "../layout.ts";

export interface FieldCodec<T> {
  readonly size: number;
  /** Into `out` when given (exactly `size` bytes, zeroed by the caller), else a new array. */
  encode(value: T, out?: Uint8Array): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** `{keySize, valueSize, encodeKey, decodeKey, encodeValue, decodeValue}`: defined once, in layout.ts. */
export type { MapCodec };

export function mapCodec<K, V>(key: FieldCodec<K>, value: FieldCodec<V>): MapCodec<K, V> {
  return {
    keySize: key.size,
    valueSize: value.size,
    encodeKey: (k, out) => key.encode(k, out),
    decodeKey: (b) => key.decode(b),
    encodeValue: (v, out) => value.encode(v, out),
    decodeValue: (b) => value.decode(b),
  };
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Little-endian (host order on x86_64/arm64) unsigned 32-bit. */
export const u32Codec: FieldCodec<number> = {
  size: 4,
  encode(v, out) {
    const b = out ?? new Uint8Array(4);
    view(b).setUint32(0, v >>> 0, true);
    return b;
  },
  decode: (b) => view(b).getUint32(0, true),
};

export const u64Codec: FieldCodec<bigint> = {
  size: 8,
  encode(v, out) {
    const b = out ?? new Uint8Array(8);
    view(b).setBigUint64(0, v, true);
    return b;
  },
  decode: (b) => view(b).getBigUint64(0, true),
};

/** Raw bytes of a fixed size (copied both ways). */
export function bytesCodec(size: number): FieldCodec<Uint8Array> {
  return {
    size,
    encode(v, out) {
      if (v.length !== size) throw new TypeError(`expected ${size} bytes, got ${v.length}`);
      if (!out) return v.slice();
      out.set(v);
      return out;
    },
    decode: (b) => b.slice(),
  };
}
