/** Parse and validate a set of policy files: every problem across all files, sorted by position. */
import { hasErrors, parseYamlDocuments, sortDiagnostics, type Diagnostic, type YamlLimits } from "../schema/index.ts";
import type { FileCheck, PolicyParseCache } from "./cache.ts";
import { crossCheck } from "./crosscheck.ts";
import { checkPolicyDocument, specSchemas, type Declared } from "./schema/document.ts";
import type { PolicyDoc, PolicySourceFile } from "./types.ts";

export interface CheckOptions {
  readonly trustDomain: string;
  readonly limits?: Partial<YamlLimits>;
  /** Reuse the results of unchanged files (the engine keeps one across reloads). */
  readonly cache?: PolicyParseCache;
}

export interface CheckResult {
  /** Present only when there is no error (warnings allowed). */
  readonly docs?: readonly PolicyDoc[];
  readonly diagnostics: readonly Diagnostic[];
}

function checkFile(file: PolicySourceFile, specs: ReturnType<typeof specSchemas>, limits: Partial<YamlLimits> | undefined): FileCheck {
  const parsed = parseYamlDocuments(file.text, file.path, limits);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const docs: PolicyDoc[] = [];
  const declared: Declared[] = [];
  for (const document of parsed.documents) {
    const r = checkPolicyDocument(document, specs, limits);
    diagnostics.push(...r.diagnostics);
    if (r.declared) declared.push(r.declared);
    if (r.doc) docs.push(r.doc);
  }
  return { docs, declared, diagnostics };
}

export function checkPolicy(files: readonly PolicySourceFile[], opts: CheckOptions): CheckResult {
  let specs: ReturnType<typeof specSchemas> | undefined;
  const cacheKey = `${opts.trustDomain}\n${JSON.stringify(opts.limits ?? {})}`;
  const diagnostics: Diagnostic[] = [];
  const docs: PolicyDoc[] = [];
  const declared: Declared[] = [];
  for (const file of files) {
    let r = opts.cache?.get(file.path, file.text, cacheKey);
    if (!r) {
      r = checkFile(file, (specs ??= specSchemas(opts.trustDomain)), opts.limits);
      opts.cache?.set(file.path, file.text, cacheKey, r);
    }
    diagnostics.push(...r.diagnostics);
    docs.push(...r.docs);
    declared.push(...r.declared);
  }
  opts.cache?.retain(files.map((f) => f.path));
  diagnostics.push(...crossCheck(docs, declared, hasErrors(diagnostics)));
  const sorted = sortDiagnostics(diagnostics);
  return hasErrors(sorted) ? { diagnostics: sorted } : { docs, diagnostics: sorted };
}
