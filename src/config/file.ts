import { readFileSync, statSync } from "node:fs";
import { isMap, isScalar, type Node } from "yaml";
import { ConfigError, errnoCode } from "../errors/index.ts";
import { formatDiagnostic, parseYamlDocuments, sortDiagnostics, validateDocument, type Diagnostic } from "../schema/index.ts";
import { configFieldPaths } from "./env.ts";
import type { RawConfig } from "./defaults.ts";
import { configSchema } from "./schema.ts";

const MAX_CONFIG_BYTES = 256 * 1024;

/**
 * Reads and validates sluice.yaml. Every problem is reported at once as `file:line:col: message`.
 * An explicit `null` is kept (it means "off" for the fields that allow it, e.g. proxy.explicit);
 * an absent field is left out so the default or another layer applies.
 */
export function readConfigFile(path: string): RawConfig {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_CONFIG_BYTES) throw new ConfigError(`config file ${path} is ${size} bytes; the limit is ${MAX_CONFIG_BYTES}`);
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = errnoCode(err);
    if (code === "ENOENT") throw new ConfigError(`config file ${path} not found (sluice init writes one; --config none runs on defaults)`);
    if (code === "EACCES") throw new ConfigError(`config file ${path} is not readable by uid ${process.getuid?.()} (run as root?)`);
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = parseYamlDocuments(text, path);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const [document, extra] = parsed.documents;
  if (extra) diagnostics.push({ severity: "error", ...extra.pos(extra.contents.range?.[0] ?? 0), message: "expected a single YAML document, found more than one", code: "config.documents" });
  if (document) {
    diagnostics.push(...validateDocument(document, configSchema).diagnostics);
    if (diagnostics.every((d) => d.severity !== "error")) diagnostics.push(...nullWhereNotAllowed(document.contents, path, document.pos));
  }
  const errors = sortDiagnostics(diagnostics.filter((d) => d.severity === "error"));
  if (errors.length > 0) throw new ConfigError(`invalid config:\n${errors.map((d) => "  " + formatDiagnostic(d)).join("\n")}`);
  if (!document) return {};
  return document.document.toJS({ maxAliasCount: 100 }) as RawConfig;
}

/** `listen: null` would erase a required value: only fields whose default is null may be null. */
function nullWhereNotAllowed(root: Node, file: string, pos: (o: number) => { line: number; col: number }): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (!isMap(root)) return out;
  for (const { path, sample, nullable } of configFieldPaths()) {
    if (nullable) continue;
    const [head, tail] = path.split(".") as [string, string | undefined];
    let parent: unknown = root;
    if (tail !== undefined) parent = root.get(head, true);
    const name = tail ?? head;
    if (!isMap(parent) || !parent.has(name)) continue;
    const value = parent.get(name, true) as Node | null | undefined;
    if (value == null || (isScalar(value) && value.value === null)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === name);
      const at = pos((pair?.key as Node | undefined)?.range?.[0] ?? 0);
      out.push({ severity: "error", file, line: at.line, col: at.col, code: "config.null", message: `\`${path}\` cannot be null (its default is ${JSON.stringify(sample)}); remove the line to use the default` });
    }
  }
  return out;
}
