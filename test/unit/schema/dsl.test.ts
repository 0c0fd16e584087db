/** The schema DSL: typed values, exact messages, positions pointing at the offending node. */
import { describe, expect, test } from "bun:test";
import * as s from "../../../src/schema/index.ts";

function run<T>(schema: s.Schema<T>, text: string) {
  const r = s.validateYamlText(text, "c.yaml", schema);
  return { value: r.value, out: r.diagnostics.map(s.formatDiagnostic) };
}

describe("scalars", () => {
  const int = s.object({ n: s.required(s.integer({ min: 1, max: 10, what: "n" })) });

  test("integer: value, range, wrong types", () => {
    expect(run(int, "n: 5\n").value).toEqual({ n: 5 });
    expect(run(int, "n: 11\n").out).toEqual(["c.yaml:1:4: error: n 11 is out of range 1-10"]);
    expect(run(int, "n: abc\n").out).toEqual(['c.yaml:1:4: error: expected integer, got string "abc"']);
    expect(run(int, 'n: "5"\n').out).toEqual(['c.yaml:1:4: error: expected integer, got string "5"']);
    expect(run(int, "n: 1.5\n").out).toEqual(["c.yaml:1:4: error: expected integer, got number 1.5"]);
    expect(run(int, "n: 1e1\n").out).toEqual(["c.yaml:1:4: error: expected integer, got number 1e1"]);
    expect(run(int, "n: [1]\n").out).toEqual(["c.yaml:1:4: error: expected integer, got list"]);
    expect(run(int, "n:\n").out).toEqual(["c.yaml:1:3: error: expected integer, got null"]);
  });

  test("string: empty, length, pattern with hint, custom check", () => {
    const str = s.object({ v: s.required(s.string({ what: "label", maxLength: 5, pattern: /^[a-z]+$/, hint: "lowercase only", check: (v) => (v === "bad" ? "no bad" : undefined) })) });
    expect(run(str, "v: ok\n").value).toEqual({ v: "ok" });
    expect(run(str, 'v: ""\n').out).toEqual(["c.yaml:1:4: error: label must not be empty"]);
    expect(run(str, "v: toolong\n").out).toEqual(["c.yaml:1:4: error: label is longer than 5 characters"]);
    expect(run(str, "v: ABC\n").out).toEqual(['c.yaml:1:4: error: invalid label "ABC": lowercase only']);
    expect(run(str, "v: bad\n").out).toEqual(["c.yaml:1:4: error: no bad"]);
    expect(run(str, "v: 12\n").out).toEqual(["c.yaml:1:4: error: expected string, got integer 12"]);
    expect(run(str, "v: true\n").out).toEqual(["c.yaml:1:4: error: expected string, got boolean true"]);
  });

  test("boolean and enum (with did-you-mean)", () => {
    const o = s.object({ b: s.optional(s.boolean()), e: s.optional(s.enumOf(["allow", "deny"], { what: "mode" })) });
    expect(run(o, "b: false\ne: deny\n").value).toEqual({ b: false, e: "deny" });
    expect(run(o, "b: 1\n").out).toEqual(["c.yaml:1:4: error: expected boolean (true or false), got integer 1"]);
    expect(run(o, "e: dny\n").out).toEqual(['c.yaml:1:4: error: unknown mode "dny" (expected one of allow, deny); did you mean `deny`?']);
    expect(run(o, "e: Allow\n").out).toEqual(['c.yaml:1:4: error: unknown mode "Allow" (expected one of allow, deny); did you mean `allow`?']);
    expect(run(o, "e: block\n").out).toEqual(['c.yaml:1:4: error: unknown mode "block" (expected one of allow, deny)']);
  });
});

describe("collections", () => {
  test("list: min/max, every bad item reported", () => {
    const o = s.object({ xs: s.required(s.list(s.integer(), { min: 1, max: 3, what: "x" })) });
    expect(run(o, "xs: [1, 2]\n").value).toEqual({ xs: [1, 2] });
    expect(run(o, "xs: []\n").out).toEqual(["c.yaml:1:5: error: at least one x is required"]);
    expect(run(o, "xs: [1, 2, 3, 4]\n").out).toEqual(["c.yaml:1:5: error: at most 3 xs are allowed, got 4"]);
    expect(run(o, "xs: [a, 2, b]\n").out).toEqual(['c.yaml:1:6: error: expected integer, got string "a"', 'c.yaml:1:12: error: expected integer, got string "b"']);
    expect(run(o, "xs: {a: 1}\n").out).toEqual(["c.yaml:1:5: error: expected list, got map"]);
  });

  test("oneOrMany: scalar or list", () => {
    const o = s.object({ v: s.required(s.oneOrMany(s.integer())) });
    expect(run(o, "v: 3\n").value).toEqual({ v: [3] });
    expect(run(o, "v: [3, 4]\n").value).toEqual({ v: [3, 4] });
    expect(run(o, "v: []\n").out).toEqual(["c.yaml:1:4: error: at least one item is required"]);
  });

  test("stringMap: key schema, values, __proto__ stays data", () => {
    const o = s.object({ m: s.required(s.stringMap(s.string(), { key: s.string({ what: "key", pattern: /^[a-z_]+$/ }) })) });
    const r = run(o, "m: {a: x, __proto__: y}\n");
    expect(r.out).toEqual([]);
    expect(Object.getPrototypeOf(r.value!.m)).toBe(Object.prototype);
    expect(Object.keys(r.value!.m)).toEqual(["a", "__proto__"]);
    expect(run(o, "m: {A: x}\n").out).toEqual(['c.yaml:1:5: error: invalid key "A"']);
    expect(run(o, "m: {a: 1}\n").out).toEqual(["c.yaml:1:8: error: expected string, got integer 1"]);
    expect(run(o, "m: {1: x}\n").out).toEqual(["c.yaml:1:5: error: expected string key, got integer 1"]);
  });
});

describe("objects", () => {
  const o = s.object(
    {
      name: s.required(s.string()),
      port: s.withDefault(s.integer(), 80),
      tags: s.withDefault(s.list(s.string()), []),
      note: s.optional(s.string()),
    },
    { what: "server" },
  );

  test("defaults, optional, explicit null treated as absent", () => {
    expect(run(o, "name: a\n").value).toEqual({ name: "a", port: 80, tags: [], note: undefined });
    expect(run(o, "name: a\nport:\nnote: ~\n").value).toEqual({ name: "a", port: 80, tags: [], note: undefined });
  });

  test("defaults are not shared between values", () => {
    const a = run(o, "name: a\n").value!;
    (a.tags as string[]).push("x");
    expect(run(o, "name: b\n").value!.tags).toEqual([]);
  });

  test("missing required field reported at the mapping; unknown field at its key", () => {
    expect(run(o, "port: 1\nnmae: a\n").out).toEqual(["c.yaml:1:1: error: missing required field `name` in server", "c.yaml:2:1: error: unknown field `nmae` in server; did you mean `name`?"]);
  });

  test("a required field given null is a type error at the value", () => {
    expect(run(o, "name:\n").out).toEqual(["c.yaml:1:6: error: expected string, got null"]);
  });

  test("custom unknown-field message and cross-field check", () => {
    const p = s.object(
      { a: s.optional(s.integer()), b: s.optional(s.integer()) },
      {
        unknownField: (k) => (k === "secret" ? { message: "no inline secrets", code: "x.secret" } : undefined),
        check(v, at, ctx) {
          if (v.a !== undefined && v.b !== undefined) {
            ctx.error(at.key("b"), "a and b are exclusive", "x.excl");
            return false;
          }
        },
      },
    );
    expect(run(p, "secret: 1\n").out).toEqual(["c.yaml:1:1: error: no inline secrets"]);
    expect(run(p, "a: 1\nb: 2\n").out).toEqual(["c.yaml:2:1: error: a and b are exclusive"]);
    expect(run(p, "a: 1\n").value).toEqual({ a: 1, b: undefined });
  });
});

describe("oneKey, refine, located, aliases", () => {
  const v = s.oneKey({ file: s.string(), env: s.string() }, { what: "secret reference" });
  const o = s.object({ ref: s.required(v) });

  test("exactly one key", () => {
    expect(run(o, "ref: {env: X}\n").value).toEqual({ ref: { type: "env", value: "X" } });
    expect(run(o, "ref: {}\n").out).toEqual(["c.yaml:1:6: error: secret reference needs exactly one of `file`, `env`"]);
    expect(run(o, "ref: {env: X, file: /y}\n").out).toEqual(["c.yaml:1:15: error: only one of `file`, `env` may be set; found `env` and `file`"]);
    expect(run(o, "ref: {fiel: /y}\n").out).toEqual(["c.yaml:1:7: error: unknown field `fiel` in secret reference; did you mean `file`?"]);
  });

  test("refine transforms and can reject at the node; located keeps the position", () => {
    const even = s.refine(s.integer(), (n, node, ctx) => (n % 2 === 0 ? n / 2 : (ctx.error(node, "odd", "x.odd"), s.INVALID)));
    const p = s.object({ h: s.required(s.located(even)) });
    expect(run(p, "\nh: 8\n").value).toEqual({ h: { value: 4, at: { file: "c.yaml", line: 2, col: 4 } } });
    expect(run(p, "h: 7\n").out).toEqual(["c.yaml:1:4: error: odd"]);
  });

  test("aliases resolve, unknown aliases and alias floods are errors", () => {
    const p = s.object({ a: s.optional(s.list(s.integer())), b: s.optional(s.list(s.integer())) });
    expect(run(p, "a: &x [1, 2]\nb: *x\n").value).toEqual({ a: [1, 2], b: [1, 2] });
    expect(run(p, "b: *nope\n").out).toEqual(["c.yaml:1:4: error: unknown alias *nope"]);
    const many = s.object({ a: s.required(s.list(s.list(s.integer()))) });
    const text = `x: &x [1]\na: [${Array.from({ length: 1_500 }, () => "*x").join(", ")}]\n`;
    const r = s.validateYamlText(text, "c.yaml", s.object({ x: s.optional(s.anyNode()), a: many.fields.a }));
    expect(r.value).toBeUndefined();
    expect(r.diagnostics.filter((d) => d.code === "limit.alias").length).toBe(1);
  });
});

describe("validateYamlText", () => {
  const cfg = s.object({ listen: s.withDefault(s.string(), "127.0.0.1:8443"), id: s.optional(s.string()) });

  test("an empty or comment-only file validates as {} so defaults apply", () => {
    expect(s.validateYamlText("", "c.yaml", cfg)).toEqual({ value: { listen: "127.0.0.1:8443", id: undefined }, diagnostics: [] });
    expect(s.validateYamlText("# nothing\n", "c.yaml", cfg).value).toEqual({ listen: "127.0.0.1:8443", id: undefined });
  });

  test("missing required field in an empty file is reported at 1:1", () => {
    const req = s.object({ trustDomain: s.required(s.string()) });
    expect(s.validateYamlText("", "c.yaml", req).diagnostics.map(s.formatDiagnostic)).toEqual(["c.yaml:1:1: error: missing required field `trustDomain`"]);
  });

  test("more than one document is an error; no value on any error", () => {
    const r = s.validateYamlText("id: a\n---\nid: b\n", "c.yaml", cfg);
    expect(r.value).toBeUndefined();
    expect(r.diagnostics.map(s.formatDiagnostic)).toEqual(["c.yaml:3:1: error: expected a single YAML document, found more than one"]);
  });

  test("syntax errors are not followed by schema noise", () => {
    const r = s.validateYamlText("listen: [\nid: 1\n", "c.yaml", cfg);
    expect(r.value).toBeUndefined();
    expect(r.diagnostics.every((d) => d.code.startsWith("yaml."))).toBe(true);
  });

  test("validateYamlDocuments returns one result per document, sorted diagnostics", () => {
    const r = s.validateYamlDocuments("id: a\n---\nid: 1\n---\nlisten: x\n", "c.yaml", cfg);
    expect(r.documents.map((d) => d.value?.id ?? null)).toEqual(["a", null, null]);
    expect(r.documents[2]!.value).toEqual({ listen: "x", id: undefined });
    expect(r.diagnostics.map(s.formatDiagnostic)).toEqual(["c.yaml:3:5: error: expected string, got integer 1"]);
  });
});

describe("diagnostics and suggestions", () => {
  test("formatDiagnostic and sortDiagnostics", () => {
    const d = (file: string, line: number, col: number) => s.diagnostic("error", { file, line, col }, "m", "c");
    expect(s.formatDiagnostic(s.diagnostic("warning", { file: "a.yaml", line: 3, col: 9 }, "careful", "w"))).toBe("a.yaml:3:9: warning: careful");
    expect(s.sortDiagnostics([d("b", 1, 1), d("a", 2, 1), d("a", 1, 5), d("a", 1, 2)]).map(s.formatPos)).toEqual(["a:1:2", "a:1:5", "a:2:1", "b:1:1"]);
  });

  test("suggest: case, transposition, distance limits", () => {
    expect(s.suggest("Selectors", ["selectors", "egress"])).toBe("selectors");
    expect(s.suggest("egrses", ["selectors", "egress"])).toBe("egress");
    expect(s.suggest("xyz", ["selectors", "egress"])).toBeUndefined();
    expect(s.suggest("tl", ["tls", "to"])).toBeDefined();
    expect(s.suggest("ab", ["xy"])).toBeUndefined();
    expect(s.editDistance("kitten", "sitting")).toBe(3);
    expect(s.editDistance("ab", "ba")).toBe(1);
  });
});
