/** Positioned problems in a source file, printed as `file:line:col: severity: message`. */
export type Severity = "error" | "warning";

/** 1-based line and column in `file`. */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface Diagnostic extends SourcePos {
  readonly severity: Severity;
  readonly message: string;
  /** Stable machine-readable code, e.g. `schema.unknown-field`, `yaml.tab-as-indent`. */
  readonly code: string;
}

export function diagnostic(severity: Severity, at: SourcePos, message: string, code: string): Diagnostic {
  return { severity, file: at.file, line: at.line, col: at.col, message, code };
}

export function formatPos(at: SourcePos): string {
  return `${at.file}:${at.line}:${at.col}`;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${formatPos(d)}: ${d.severity}: ${d.message}`;
}

function compare(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  return a.col - b.col;
}

/** A sorted copy: by file, then line, then column (stable for equal positions). */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort(compare);
}

export function hasErrors(list: readonly Diagnostic[]): boolean {
  return list.some((d) => d.severity === "error");
}

export function countErrors(list: readonly Diagnostic[]): { errors: number; warnings: number } {
  let errors = 0;
  for (const d of list) if (d.severity === "error") errors++;
  return { errors, warnings: list.length - errors };
}
