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
