/** Secret-safe copies of structured data, for the audit log and the structured log alike. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };

export const REDACTED = "[redacted]";

export interface RedactLimits {
  maxDepth: number;
  maxStringLength: number;
  maxArrayItems: number;
  maxKeys: number;
  /** Values visited in total: bounds the work on huge or cyclic inputs. */
  maxNodes: number;
  /** Serialized size of the whole details object. */
  maxBytes: number;
}

export const DEFAULT_LIMITS: RedactLimits = {
  maxDepth: 6,
  maxStringLength: 1024,
  maxArrayItems: 64,
  maxKeys: 64,
  maxNodes: 1000,
  maxBytes: 8192,
};

type Walk = { limits: RedactLimits; nodes: number; path: Set<object> };

/** Substrings of a key (lowercased, punctuation removed) that mark its value as secret. */
const SECRET_KEY_PARTS = [
  "token", "secret", "passw", "passphrase", "authorization", "cookie", "assertion", "codeverifier",
  "credential", "privatekey", "apikey", "signature", "session", "bearer",
];
const SECRET_KEYS = new Set(["key", "pass", "pwd", "pin", "otp", "dsn"]);

// Detail keys repeat endlessly (dest, reason, client_id…): remember the verdicts, within bounds.
const verdicts = new Map<string, boolean>();

export function isSecretKey(key: string): boolean {
  const known = verdicts.get(key);
  if (known !== undefined) return known;
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, "");
  const secret = SECRET_KEYS.has(k) || k.endsWith("key") || SECRET_KEY_PARTS.some((part) => k.includes(part));
  if (verdicts.size < 4096) verdicts.set(key, secret);
  return secret;
}

/** A number is a secret only under a key that names one exactly (`pin: 1234`), not under `tokenCount`. */
const NUMERIC_SECRET_KEYS = new Set([...SECRET_KEYS, "password", "passwd", "passphrase", "secret", "token", "apikey", "accesstoken", "refreshtoken", "clientsecret", "passcode"]);

function isNumericSecretKey(key: string): boolean {
  return NUMERIC_SECRET_KEYS.has(key.toLowerCase().replace(/[^a-z0-9]/g, ""));
}

/** Values that are credentials whatever key they sit under. */
const SECRET_VALUES = [
  /^\s*(bearer|basic|dpop|token)\s+\S/i,
  /^eyJ[\w-]{4,}(\.[\w-]*){2,4}$/, // JWS / JWE compact serialization
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

/**
 * A JSON-safe copy of `details` fit for the audit log: secret-looking keys and values become
 * "[redacted]", credentials inside URLs (password, secret-looking query parameters, `code`) too,
 * and depth, string length, array length, key count and total size are capped.
 * Callers must still not put secrets under neutral keys; this is the safety net.
 */
export function redactDetails(details: Record<string, unknown>, limits: RedactLimits = DEFAULT_LIMITS): JsonObject {
  const out = redactObject(details, 1, { limits, nodes: 0, path: new Set([details]) });
  const bytes = Buffer.byteLength(JSON.stringify(out));
  if (bytes <= limits.maxBytes) return out;
  return { truncated: true, bytes, keys: Object.keys(out).slice(0, 32) };
}

function redactValue(value: unknown, depth: number, walk: Walk): JsonValue | undefined {
  if (++walk.nodes > walk.limits.maxNodes) return "[truncated]";
  if (value === null) return null;
  switch (typeof value) {
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "bigint":
      return value.toString();
    case "string":
      return redactString(value, walk.limits);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  // Bytes are never logged: they are too often key material.
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (depth > walk.limits.maxDepth) return "[too deep]";
  const obj = value as object;
  if (walk.path.has(obj)) return "[circular]";
  walk.path.add(obj);
  try {
    return redactComposite(obj, depth, walk);
  } finally {
    walk.path.delete(obj);
  }
}

function redactComposite(value: object, depth: number, walk: Walk): JsonValue | undefined {
  const { maxArrayItems } = walk.limits;
  if (Array.isArray(value)) {
    const items = value.slice(0, maxArrayItems).map((v) => redactValue(v, depth + 1, walk) ?? null);
    if (value.length > maxArrayItems) items.push(`[+${value.length - maxArrayItems} more]`);
    return items;
  }
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return redactObject({ name: value.name, message: value.message, code }, depth + 1, walk);
  }
  if (value instanceof Map) return redactObject(Object.fromEntries(value), depth + 1, walk);
  if (value instanceof Set) return redactComposite([...value], depth, walk);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    const json: unknown = toJSON.call(value);
    return json === value ? "[unserializable]" : redactValue(json, depth, walk);
  }
  return redactObject(value as Record<string, unknown>, depth + 1, walk);
}

function redactObject(obj: Record<string, unknown>, depth: number, walk: Walk): JsonObject {
  const out: JsonObject = {};
  const keys = Object.keys(obj);
  for (const key of keys.slice(0, walk.limits.maxKeys)) {
    const raw = obj[key];
    if (raw === null || typeof raw === "boolean") {
      out[key] = raw; // "hasToken: true" says nothing secret
      continue;
    }
    if (typeof raw === "number" && !isNumericSecretKey(key)) {
      out[key] = Number.isFinite(raw) ? raw : String(raw); // counts: "credentialBindings: 3", "tokensIssued: 12"
      continue;
    }
    const value = isSecretKey(key) && raw !== undefined ? REDACTED : redactValue(raw, depth, walk);
    if (value !== undefined) out[truncate(key, 128)] = value;
  }
  if (keys.length > walk.limits.maxKeys) out["[more]"] = `${keys.length - walk.limits.maxKeys} more keys`;
  return out;
}

function redactString(value: string, limits: RedactLimits): string {
  if (SECRET_VALUES.some((re) => re.test(value))) return REDACTED;
  return truncate(redactUrl(value), limits.maxStringLength);
}

function redactUrl(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  let changed = false;
  if (url.password) {
    url.password = REDACTED;
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (name === "code" || isSecretKey(name)) {
      url.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  // Implicit-flow style fragments (#access_token=…) are dropped entirely.
  if (url.hash.includes("=")) {
    url.hash = REDACTED;
    changed = true;
  }
  return changed ? url.toString() : value;
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}…[+${value.length - max} chars]`;
}
