/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers and strings as
 * JSON.stringify writes them (the same output as RFC 8785 JCS for the values audit records hold).
 * Properties whose value is undefined are skipped, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          out += value[i] === undefined ? "null" : canonicalJson(value[i]);
        }
        return out + "]";
      }
      const obj = value as Record<string, unknown>;
      const flat = flatCanonical(obj);
      if (flat !== undefined) return flat;
      let out = "{";
      for (const key of Object.keys(obj).sort()) {
        const v = obj[key];
        if (v === undefined) continue;
        if (out.length > 1) out += ",";
        out += JSON.stringify(key) + ":" + canonicalJson(v);
      }
      return out + "}";
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} has no JSON form`);
  }
}

/**
 * The common audit `details` shape, an object of primitives, in one JSON.stringify over a copy with
 * sorted keys (insertion order is kept for non-index keys, so the output is the same). undefined
 * when that does not hold: a nested value, a non-finite number, or a key starting with a digit
 * (array-index keys would be ordered numerically, not by code units).
 */
function flatCanonical(obj: Record<string, unknown>): string | undefined {
  const keys = Object.keys(obj).sort();
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    const c = key.charCodeAt(0);
    if (c >= 48 && c <= 57) return undefined;
    const v = obj[key];
    switch (typeof v) {
      case "string":
      case "boolean":
      case "undefined":
        break;
      case "number":
        if (!Number.isFinite(v)) return undefined;
        break;
      case "object":
        if (v !== null) return undefined;
        break;
      default:
        return undefined;
    }
    copy[key] = v;
  }
  return JSON.stringify(copy);
}
