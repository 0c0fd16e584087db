/** Entry points: validate YAML text (one or many documents) against a schema. */
import { hasErrors, sortDiagnostics, type Diagnostic } from "./diagnostic.ts";
import { ValidationContext } from "./context.ts";
import { DEFAULT_YAML_LIMITS, type YamlLimits } from "./limits.ts";
import { parseYamlDocuments, type YamlDocument } from "./parse.ts";
import { INVALID, run, type Schema } from "./types.ts";

export interface ValidateOptions {
  readonly limits?: Partial<YamlLimits>;
}

export interface DocumentResult<T> {
  /** Present only when the document has no errors at all (YAML or schema). */
  readonly value?: T;
  readonly document: YamlDocument;
  /** Schema problems of this document (its YAML problems are in `document.diagnostics`). */
  readonly diagnostics: readonly Diagnostic[];
}

/** Validate one parsed document. Documents with YAML syntax errors are not schema-checked. */
export function validateDocument<T>(document: YamlDocument, schema: Schema<T>, opts: ValidateOptions = {}): DocumentResult<T> {
  if (document.broken) return { document, diagnostics: [] };
  const ctx = new ValidationContext(document, opts.limits?.maxAliasCount ?? DEFAULT_YAML_LIMITS.maxAliasCount);
  const v = run(schema, document.contents, ctx);
  const ok = v !== INVALID && !hasErrors(ctx.diagnostics) && !hasErrors(document.diagnostics);
  return ok ? { value: v, document, diagnostics: ctx.diagnostics } : { document, diagnostics: ctx.diagnostics };
}

export interface DocumentsResult<T> {
  readonly documents: ReadonlyArray<DocumentResult<T>>;
  /** Every problem of the source, sorted by position. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Validate every document of a multi-document source against the same schema. */
export function validateYamlDocuments<T>(text: string, file: string, schema: Schema<T>, opts: ValidateOptions = {}): DocumentsResult<T> {
  const parsed = parseYamlDocuments(text, file, opts.limits);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const documents = parsed.documents.map((d) => {
    const r = validateDocument(d, schema, opts);
    diagnostics.push(...r.diagnostics);
    return r;
  });
  return { documents, diagnostics: sortDiagnostics(diagnostics) };
}

export interface TextResult<T> {
  /** Present only when there are no errors. */
  readonly value?: T;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Validate a single-document source (a config file). An empty source (or one with only comments)
 * is validated as an empty mapping, so defaults apply and missing required fields are reported at 1:1.
 */
export function validateYamlText<T>(text: string, file: string, schema: Schema<T>, opts: ValidateOptions = {}): TextResult<T> {
  const parsed = parseYamlDocuments(text, file, opts.limits);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const docs = parsed.documents;
  if (hasErrors(parsed.diagnostics) && docs.length === 0) return { diagnostics: sortDiagnostics(diagnostics) };
  if (docs.length > 1) {
    const at = docs[1]!.pos(docs[1]!.contents.range?.[0] ?? 0);
    diagnostics.push({ severity: "error", ...at, message: "expected a single YAML document, found more than one", code: "schema.documents" });
  }
  const doc = docs[0] ?? parseYamlDocuments("{}", file).documents[0]!;
  const r = validateDocument(doc, schema, opts);
  diagnostics.push(...r.diagnostics);
  const ok = r.value !== undefined && !hasErrors(diagnostics);
  return ok ? { value: r.value, diagnostics: sortDiagnostics(diagnostics) } : { diagnostics: sortDiagnostics(diagnostics) };
}
