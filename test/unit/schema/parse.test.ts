/** parseYamlDocuments: positions, YAML errors, duplicate keys, and limits against hostile input. */
import { describe, expect, test } from "bun:test";
import { formatDiagnostic, parseYamlDocuments } from "../../../src/schema/index.ts";

const fmt = (text: string, limits = {}) => parseYamlDocuments(text, "f.yaml", limits).diagnostics.map(formatDiagnostic);

describe("parseYamlDocuments", () => {
  test("multi-document, empty documents skipped, 1-based positions", () => {
    const r = parseYamlDocuments("a: 1\n---\n# only a comment\n---\nb: 2\n---\n", "f.yaml");
    expect(r.diagnostics).toEqual([]);
    expect(r.documents.map((d) => d.index)).toEqual([0, 2]);
    const second = r.documents[1]!;
    expect(second.pos(second.contents.range![0])).toEqual({ file: "f.yaml", line: 5, col: 1 });
  });

  test("a byte-order mark does not shift columns", () => {
    const r = parseYamlDocuments("\uFEFFa: [1, x: 2\n", "f.yaml");
    expect(r.documents[0]!.pos(r.documents[0]!.contents.range![0])).toEqual({ file: "f.yaml", line: 1, col: 1 });
  });

  test("syntax errors carry their position and mark the document broken", () => {
    const r = parseYamlDocuments("a: 1\nb: [1, 2\nc: 3\n", "f.yaml");
    expect(r.diagnostics.map(formatDiagnostic)).toEqual(["f.yaml:3:1: error: Flow sequence in block collection must be sufficiently indented and end with a ]"]);
    expect(r.documents[0]!.broken).toBe(true);
  });

  test("tabs as indentation", () => {
    expect(fmt("a:\n\tb: 1\n")).toEqual(["f.yaml:2:1: error: tabs are not allowed for indentation; use spaces"]);
  });

  test("duplicate keys name both positions, at any depth", () => {
    expect(fmt("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")).toEqual([
      'f.yaml:4:3: error: duplicate key "c" (first defined at line 3:3)',
      'f.yaml:5:1: error: duplicate key "a" (first defined at line 1:1)',
    ]);
  });

  test("duplicate keys are not syntax errors: the document is still schema-checked", () => {
    const r = parseYamlDocuments("a: 1\na: 2\n", "f.yaml");
    expect(r.documents[0]!.broken).toBe(false);
    expect(r.documents[0]!.diagnostics.length).toBe(1);
  });

  test("unresolved tags are warnings", () => {
    expect(fmt("a: !custom x\n")).toEqual(["f.yaml:1:4: warning: Unresolved tag: !custom"]);
  });
});

describe("limits: hostile input fails fast with a positioned error", () => {
  test("file size", () => {
    expect(fmt("a: 1\n".repeat(10), { maxBytes: 20 })).toEqual(["f.yaml:1:1: error: file is 50 bytes; the limit is 20"]);
  });

  test("deep flow nesting stops at the limit, quickly (2M brackets unguarded take >20 s)", () => {
    const t0 = performance.now();
    const got = fmt("a: " + "[".repeat(2_000_000));
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(got).toEqual(["f.yaml:1:68: error: flow collections nested deeper than 64 levels"]);
  });

  test("brackets inside quoted strings and comments do not count", () => {
    const text = `a: "${"[".repeat(100)}"\nb: 1 # ${"{".repeat(100)}\n`;
    expect(fmt(text)).toEqual([]);
  });

  test("document count", () => {
    const t0 = performance.now();
    const got = fmt("---\na: 1\n".repeat(400_000), { maxDocuments: 100 });
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(got).toEqual(["f.yaml:201:1: error: more than 100 documents in one file"]);
  });

  test("block nesting depth", () => {
    let text = "";
    for (let i = 0; i < 20; i++) text += " ".repeat(i) + "a:\n";
    expect(fmt(text + " ".repeat(20) + "b: 1\n", { maxDepth: 10 })).toEqual(["f.yaml:11:11: error: nested deeper than 10 levels"]);
  });

  test("node count", () => {
    expect(fmt(`a: [${Array.from({ length: 50 }, (_, i) => i).join(", ")}]\n`, { maxNodes: 20 })[0]).toMatch(/^f\.yaml:1:\d+: error: more than 20 nodes in one document$/);
  });
});
