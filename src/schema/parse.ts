/** Multi-document YAML parsing that keeps source positions and enforces {@link YamlLimits}. */
import { Composer, Lexer, LineCounter, Parser, isMap, isScalar, isSeq } from "yaml";
import type { Document, Node, YAMLError } from "yaml";
import { diagnostic, sortDiagnostics, type Diagnostic, type SourcePos } from "./diagnostic.ts";
import { DEFAULT_YAML_LIMITS, type YamlLimits } from "./limits.ts";

/** One non-empty document of a YAML source. */
export interface YamlDocument {
  readonly file: string;
  /** 0-based index among the source's documents (empty ones included). */
  readonly index: number;
  readonly contents: Node;
  readonly document: Document.Parsed;
  /** True when the YAML has syntax errors: its structure is a guess, so schema checks are skipped. */
  readonly broken: boolean;
  /** YAML-level problems of this document (syntax, duplicate keys, limits); also in {@link ParsedYaml}. */
  readonly diagnostics: readonly Diagnostic[];
  /** Position of a source offset. */
  pos(offset: number): SourcePos;
}

export interface ParsedYaml {
  readonly documents: readonly YamlDocument[];
  readonly diagnostics: readonly Diagnostic[];
}

class LimitExceeded extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const MESSAGES: Partial<Record<YAMLError["code"], string>> = {
  TAB_AS_INDENT: "tabs are not allowed for indentation; use spaces",
  BLOCK_AS_IMPLICIT_KEY: "nested mapping on one line (`a: b: c`); put the inner mapping on its own indented line",
};

function yamlDiagnostic(e: YAMLError, at: SourcePos): Diagnostic {
  const message = MESSAGES[e.code] ?? e.message.split("\n")[0]!;
  const severity = e.name === "YAMLWarning" ? "warning" : "error";
  return diagnostic(severity, at, message, `yaml.${e.code.toLowerCase().replaceAll("_", "-")}`);
}

function isEmptyContents(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null && node.source === "" && !node.tag);
}

/**
 * Parse every document of `text`. Documents with YAML syntax errors come back with `broken: true`
 * (validateDocument skips their schema checks: the structure is a guess). All problems, sorted, are
 * in `diagnostics`; duplicate mapping keys are errors that name both positions. A breached limit
 * returns no documents at all.
 */
export function parseYamlDocuments(text: string, file: string, limits: Partial<YamlLimits> = {}): ParsedYaml {
  const lim: YamlLimits = { ...DEFAULT_YAML_LIMITS, ...limits };
  const diagnostics: Diagnostic[] = [];
  const bytes = Buffer.byteLength(text);
  if (bytes > lim.maxBytes) {
    const at = { file, line: 1, col: 1 };
    diagnostics.push(diagnostic("error", at, `file is ${bytes} bytes; the limit is ${lim.maxBytes}`, "limit.size"));
    return { documents: [], diagnostics };
  }
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = new LineCounter();
  const pos = (offset: number): SourcePos => ({ file, ...lines.linePos(offset) });
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0); // Parser.parse() does this; we drive Parser.next() ourselves (to bound nesting)
  const composer = new Composer({ uniqueKeys: false });

  function* tokens() {
    let depth = 0;
    for (const lexeme of new Lexer().lex(source)) {
      if (lexeme === "[" || lexeme === "{") {
        if (++depth > lim.maxFlowDepth)
          throw new LimitExceeded(parser.offset, `flow collections nested deeper than ${lim.maxFlowDepth} levels`);
      } else if ((lexeme === "]" || lexeme === "}") && depth > 0) depth--;
      yield* parser.next(lexeme);
    }
    yield* parser.end();
  }

  const documents: YamlDocument[] = [];
  let index = 0;
  try {
    for (const doc of composer.compose(tokens())) {
      if (index >= lim.maxDocuments)
        throw new LimitExceeded(doc.range[0], `more than ${lim.maxDocuments} documents in one file`);
      const own: Diagnostic[] = [...doc.errors, ...doc.warnings].map((e) => yamlDiagnostic(e, pos(e.pos[0])));
      const broken = doc.errors.length > 0;
      const contents = doc.contents as Node | null;
      if (!isEmptyContents(contents)) {
        checkStructure(contents!, lim, pos, own);
        documents.push({ file, index, contents: contents!, document: doc, broken, diagnostics: own, pos });
      }
      diagnostics.push(...own);
      index++;
    }
  } catch (e) {
    if (!(e instanceof LimitExceeded)) throw e;
    diagnostics.push(diagnostic("error", pos(e.offset), e.message, "limit.yaml"));
    return { documents: [], diagnostics };
  }
  for (const e of composer.streamInfo().errors) diagnostics.push(yamlDiagnostic(e, pos(e.pos[0])));
  return { documents, diagnostics: sortDiagnostics(diagnostics) };
}

/** Duplicate keys (naming both positions), block depth and node count, in one iterative pass. */
function checkStructure(root: Node, lim: YamlLimits, pos: (o: number) => SourcePos, out: Diagnostic[]): void {
  const stack: Array<[Node, number]> = [[root, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (++nodes > lim.maxNodes) {
      out.push(diagnostic("error", pos(node.range?.[0] ?? 0), `more than ${lim.maxNodes} nodes in one document`, "limit.yaml"));
      return;
    }
    if (depth > lim.maxDepth && (isMap(node) || isSeq(node))) {
      out.push(diagnostic("error", pos(node.range?.[0] ?? 0), `nested deeper than ${lim.maxDepth} levels`, "limit.yaml"));
      return;
    }
    if (isSeq(node)) {
      for (const item of node.items) if (item) stack.push([item as Node, depth + 1]);
    } else if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        if (isScalar(key) && key.range) {
          const name = String(key.value);
          const first = seen.get(name);
          if (first === undefined) seen.set(name, key.range[0]);
          else {
            const p = pos(first);
            out.push(diagnostic("error", pos(key.range[0]), `duplicate key "${name}" (first defined at line ${p.line}:${p.col})`, "yaml.duplicate-key"));
          }
        } else if (key) stack.push([key, depth + 1]);
        if (pair.value) stack.push([pair.value as Node, depth + 1]);
      }
    }
  }
}
