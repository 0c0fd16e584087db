/**
 * Positioned YAML validation, generic (policy files, sluice.yaml, anything else).
 *
 * Parse:
 * - `parseYamlDocuments(text, file, limits?)` → `{documents, diagnostics}`: every non-empty document
 *   with its AST and positions; YAML syntax errors, duplicate keys and limit breaches as diagnostics.
 *
 * Validate (values are returned only when there is no error at all):
 * - `validateYamlText(text, file, schema, {limits}?)` → `{value?, diagnostics}` for single-document
 *   files (a config file); an empty file validates as `{}` so defaults apply.
 * - `validateYamlDocuments(text, file, schema)` → `{documents: [{value?, document, diagnostics}], diagnostics}`.
 * - `validateDocument(document, schema)` for one parsed document.
 *
 * Diagnostics are `{severity, file, line, col, message, code}` with 1-based positions pointing at
 * the offending node (the key for unknown fields, the value for wrong types or values);
 * `formatDiagnostic(d)` → `file:line:col: error: message`; `sortDiagnostics` orders by file, line, col.
 *
 * Schema DSL (each returns a `Schema<T>`; `Infer<typeof s>` gives T):
 * ```ts
 * import * as s from "../schema/index.ts";
 * const config = s.object({
 *   trustDomain: s.required(s.string({ check: (v) => (ok(v) ? undefined : "bad trust domain") })),
 *   listen: s.withDefault(s.string(), "127.0.0.1:8443"),
 *   kernel: s.optional(s.object({ enabled: s.withDefault(s.boolean(), true) })),
 * });
 * const { value, diagnostics } = s.validateYamlText(text, "/etc/sluice/sluice.yaml", config);
 * ```
 * - scalars: `string({pattern, hint, check, minLength (default 1), maxLength})`, `integer({min, max, what})`,
 *   `boolean()`, `enumOf(["a", "b"])`;
 * - collections: `list(item, {min, max})`, `oneOrMany(item)` (scalar or list → list), `stringMap(value, {key})`;
 * - `object(fields, {check, unknownField, what})` with `required(s)`, `optional(s)`, `withDefault(s, v)`;
 *   unknown keys get "did you mean"; `check(value, at, ctx)` runs cross-field rules and reports via `ctx`;
 * - `oneKey({a: sa, b: sb})` → `{type: "a", value}`: exactly one of the keys;
 * - `refine(s, (v, node, ctx) => U | INVALID)`, `located(s)` → `{value, at: {file, line, col}}`, `anyNode()`.
 */
export { diagnostic, formatDiagnostic, formatPos, hasErrors, countErrors, sortDiagnostics } from "./diagnostic.ts";
export type { Diagnostic, Severity, SourcePos } from "./diagnostic.ts";
export { DEFAULT_YAML_LIMITS } from "./limits.ts";
export type { YamlLimits } from "./limits.ts";
export { parseYamlDocuments } from "./parse.ts";
export type { ParsedYaml, YamlDocument } from "./parse.ts";
export { ValidationContext } from "./context.ts";
export { validateDocument, validateYamlDocuments, validateYamlText } from "./validate.ts";
export type { DocumentResult, DocumentsResult, TextResult, ValidateOptions } from "./validate.ts";
export { INVALID, describeNode, run, typeMismatch } from "./types.ts";
export type { Infer, Invalid, Located, Result, Schema } from "./types.ts";
export { boolean, enumOf, integer, string } from "./scalars.ts";
export type { IntegerOptions, StringOptions } from "./scalars.ts";
export { keyName, list, oneOrMany, stringMap } from "./collections.ts";
export type { ListOptions, MapOptions } from "./collections.ts";
export { object, optional, required, withDefault } from "./object.ts";
export type { Field, FieldNodes, Fields, ObjectOptions, ObjectSchema, ObjectValue, PartialObject } from "./object.ts";
export { oneKey } from "./variant.ts";
export type { VariantOptions, VariantValue, Variants } from "./variant.ts";
export { anyNode, byShape, located, refine } from "./refine.ts";
export { didYouMean, editDistance, suggest } from "./suggest.ts";
export { duration, formatDuration, parseDuration } from "./duration.ts";
