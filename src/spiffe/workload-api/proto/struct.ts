/**
 * google.protobuf.Struct ⇄ JSON, for ValidateJWTSVIDResponse.claims.
 * @see https://github.com/protocolbuffers/protobuf/blob/main/src/google/protobuf/struct.proto
 *
 *   Struct    { map<string, Value> fields = 1; }
 *   Value     { oneof kind { NullValue null_value = 1; double number_value = 2; string string_value = 3;
 *                            bool bool_value = 4; Struct struct_value = 5; ListValue list_value = 6; } }
 *   ListValue { repeated Value values = 1; }
 */
import { ProtoDecodeError, ProtoWriter, WIRE_I64, WIRE_VARINT, decodeString, expectLen, readFields, readMapEntry } from "./wire.ts";

export type JsonLike = null | boolean | number | string | JsonLike[] | { [key: string]: JsonLike };

/** JWT claims nest shallowly; this bounds hostile input on decode and runaway objects on encode. */
const MAX_DEPTH = 32;

export function encodeStruct(w: ProtoWriter, obj: Record<string, unknown>, depth = 0): void {
  if (depth > MAX_DEPTH) throw new TypeError("google.protobuf.Struct: nested too deeply");
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined || typeof value === "function" || typeof value === "symbol") continue;
    w.message(1, (entry) => {
      entry.string(1, key);
      entry.message(2, (v) => encodeValue(v, value, depth + 1));
    });
  }
}

function encodeValue(w: ProtoWriter, value: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new TypeError("google.protobuf.Struct: nested too deeply");
  if (value === null || value === undefined) w.uint(1, 0);
  else if (typeof value === "number") w.double(2, value);
  else if (typeof value === "bigint") w.double(2, Number(value));
  else if (typeof value === "string") w.string(3, value);
  else if (typeof value === "boolean") w.uint(4, value ? 1 : 0);
  else if (Array.isArray(value)) {
    w.message(6, (list) => {
      for (const item of value) list.message(1, (v) => encodeValue(v, item, depth + 1));
    });
  } else if (typeof value === "object") w.message(5, (s) => encodeStruct(s, value as Record<string, unknown>, depth + 1));
  else w.uint(1, 0);
}

export function decodeStruct(buf: Uint8Array, depth = 0): Record<string, JsonLike> {
  if (depth > MAX_DEPTH) throw new ProtoDecodeError("google.protobuf.Struct: nested too deeply");
  const out: Record<string, JsonLike> = {};
  for (const f of readFields(buf)) {
    if (f.field !== 1) continue;
    const { key, value } = readMapEntry(expectLen(f, "Struct.fields"), "Struct.fields");
    out[key] = value === undefined ? null : decodeValue(expectLen(value, "Struct.fields value"), depth + 1);
  }
  return out;
}

function decodeValue(buf: Uint8Array, depth: number): JsonLike {
  if (depth > MAX_DEPTH) throw new ProtoDecodeError("google.protobuf.Value: nested too deeply");
  let result: JsonLike = null;
  for (const f of readFields(buf)) {
    switch (f.field) {
      case 1:
        result = null;
        break;
      case 2:
        if (f.wireType !== WIRE_I64) throw new ProtoDecodeError("Value.number_value: expected a double");
        result = f.value.getFloat64(0, true);
        break;
      case 3:
        result = decodeString(f, "Value.string_value");
        break;
      case 4:
        if (f.wireType !== WIRE_VARINT) throw new ProtoDecodeError("Value.bool_value: expected a varint");
        result = f.value !== 0;
        break;
      case 5:
        result = decodeStruct(expectLen(f, "Value.struct_value"), depth + 1);
        break;
      case 6: {
        const list: JsonLike[] = [];
        for (const item of readFields(expectLen(f, "Value.list_value"))) {
          if (item.field === 1) list.push(decodeValue(expectLen(item, "ListValue.values"), depth + 1));
        }
        result = list;
        break;
      }
    }
  }
  return result;
}
