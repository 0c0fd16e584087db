/** State shared by the validators of one document: positions, diagnostics, alias budget. */
import { isAlias } from "yaml";
import type { Node } from "yaml";
import { diagnostic, type Diagnostic, type Severity, type SourcePos } from "./diagnostic.ts";
import type { YamlDocument } from "./parse.ts";

export class ValidationContext {
  readonly diagnostics: Diagnostic[] = [];
  #aliases = 0;

  constructor(
    readonly doc: YamlDocument,
    private readonly maxAliasCount: number,
  ) {}

  get file(): string {
    return this.doc.file;
  }

  /** Position of a node's first character (the document start when the node has no range). */
  pos(node: Node | null | undefined): SourcePos {
    return this.doc.pos(node?.range?.[0] ?? this.doc.contents.range?.[0] ?? 0);
  }

  report(severity: Severity, node: Node | null | undefined, message: string, code: string): void {
    this.diagnostics.push(diagnostic(severity, this.pos(node), message, code));
  }

  error(node: Node | null | undefined, message: string, code: string): void {
    this.report("error", node, message, code);
  }

  warning(node: Node | null | undefined, message: string, code: string): void {
    this.report("warning", node, message, code);
  }

  /** Follow an alias to its anchored node, within the alias budget; undefined after reporting. */
  resolve(node: Node): Node | undefined {
    if (!isAlias(node)) return node;
    if (++this.#aliases > this.maxAliasCount) {
      if (this.#aliases === this.maxAliasCount + 1)
        this.error(node, `more than ${this.maxAliasCount} alias dereferences in one document`, "limit.alias");
      return undefined;
    }
    const target = node.resolve(this.doc.document);
    if (!target) {
      this.error(node, `unknown alias *${node.source}`, "yaml.bad-alias");
      return undefined;
    }
    return target;
  }

  get errorCount(): number {
    let n = 0;
    for (const d of this.diagnostics) if (d.severity === "error") n++;
    return n;
  }
}
