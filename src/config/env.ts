import { ConfigError } from "../errors/index.ts";
import { DEFAULTS, NULLABLE_FIELDS, type RawConfig } from "./defaults.ts";

/** `proxy.listen` → `SLUICE_PROXY_LISTEN`, `dataDir` → `SLUICE_DATA_DIR`. */
export function envNameFor(path: string): string {
  return "SLUICE_" + path.split(".").map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("_");
}

/** Every overridable field path with its default, derived from DEFAULTS so the two cannot drift. */
export function configFieldPaths(): { path: string; sample: unknown; nullable: boolean }[] {
  const out: { path: string; sample: unknown; nullable: boolean }[] = [];
  for (const [key, value] of Object.entries(DEFAULTS)) {
    if (Array.isArray(value)) continue; // lists (federation) come from the file only
    if (value !== null && typeof value === "object") {
      for (const [sub, subValue] of Object.entries(value)) out.push({ path: `${key}.${sub}`, sample: subValue, nullable: NULLABLE_FIELDS.has(`${key}.${sub}`) });
    } else out.push({ path: key, sample: value, nullable: NULLABLE_FIELDS.has(key) });
  }
  return out;
}

const NULLABLE_OFF = new Set(["", "off", "none"]);

/**
 * Reads SLUICE_* overrides. Values are typed by the field's default: booleans take true/false,
 * numbers take integers, nullable fields take "", "off" or "none" for null.
 */
export function readEnvOverrides(env: Readonly<Record<string, string | undefined>>): { raw: RawConfig; set: string[] } {
  const raw: Record<string, unknown> = {};
  const set: string[] = [];
  for (const { path, sample, nullable } of configFieldPaths()) {
    const name = envNameFor(path);
    const text = env[name];
    if (text === undefined) continue;
    const value = nullable && NULLABLE_OFF.has(text.toLowerCase()) ? null : coerce(name, text, sample);
    const [head, tail] = path.split(".") as [string, string | undefined];
    if (tail === undefined) raw[head] = value;
    else raw[head] = { ...(raw[head] as object | undefined), [tail]: value };
    set.push(path);
  }
  return { raw: raw as RawConfig, set };
}

function coerce(name: string, text: string, sample: unknown): unknown {
  if (typeof sample === "boolean") {
    if (/^(true|1|yes)$/i.test(text)) return true;
    if (/^(false|0|no)$/i.test(text)) return false;
    throw new ConfigError(`environment ${name}: expected true or false, got "${text}"`);
  }
  if (typeof sample === "number") {
    if (!/^\d{1,9}$/.test(text)) throw new ConfigError(`environment ${name}: expected a whole number, got "${text}"`);
    return Number(text);
  }
  return text;
}
