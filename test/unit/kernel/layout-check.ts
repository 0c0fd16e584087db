/**
 * Cilium-alignchecker-style comparison of bpf/include/sluice_shared.h with src/kernel/layout.ts.
 *
 * The C side is read from the compilers, not from a list kept in the test:
 *   1. struct/enum NAMES from the header text (`struct sluice_x {`, `enum sluice_y {`);
 *   2. every MEMBER and ENUMERATOR from the BTF clang emits for a file declaring one variable of
 *      each (bpftool btf dump -j): a field added to the header shows up here;
 *   3. host-ABI sizeof/offsetof of each of those members from a generated program built with cc.
 * Then both must equal the TypeScript tables, field by field, in order.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CStruct {
  readonly name: string;
  readonly size: number;
  /** In declaration order. */
  readonly fields: ReadonlyArray<{ readonly name: string; readonly offset: number; readonly size: number; readonly btfOffset: number }>;
}

export interface CLayout {
  readonly structs: ReadonlyMap<string, CStruct>;
  readonly enums: ReadonlyMap<string, number>;
}

export interface TsLayout {
  readonly structs: Readonly<Record<string, { readonly size: number; readonly fields: Readonly<Record<string, { readonly offset: number; readonly size: number }>> }>>;
  /** Flat `SLUICE_…` name → value. */
  readonly enums: ReadonlyMap<string, number>;
}

export function findTool(names: readonly string[]): string | undefined {
  for (const n of names) {
    const p = Bun.which(n, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });
    if (p) return p;
  }
  return undefined;
}

function run(cmd: string[], cwd: string): string {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}${r.stdout.toString()}`);
  return r.stdout.toString();
}

interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  members?: Array<{ name: string; type_id: number; bits_offset: number }>;
  values?: Array<{ name: string; val: number }>;
}

/** Read the C side of `headerPath` (tools: clang for BTF, bpftool to dump it, cc for the host ABI). */
export function readCLayout(headerPath: string, tools: { clang: string; bpftool: string; cc: string }): CLayout {
  const text = readFileSync(headerPath, "utf8");
  const structNames = [...text.matchAll(/^struct (sluice_\w+) \{/gm)].map((m) => m[1]!);
  const enumNames = [...text.matchAll(/^enum (sluice_\w+) \{/gm)].map((m) => m[1]!);
  const dir = mkdtempSync(join(tmpdir(), "sluice-layout-"));
  try {
    writeFileSync(join(dir, "shared.h"), text);
    const decls = [
      `#include "shared.h"`,
      ...structNames.map((s) => `struct ${s} v_${s};`),
      ...enumNames.map((e) => `enum ${e} e_${e};`),
    ].join("\n");
    writeFileSync(join(dir, "btf.c"), `${decls}\n`);
    run([tools.clang, "-target", "bpf", "-g", "-O0", "-c", "btf.c", "-o", "btf.o"], dir);
    const btf = JSON.parse(run([tools.bpftool, "btf", "dump", "file", join(dir, "btf.o"), "-j"], dir)) as { types: BtfType[] };
    const byName = new Map<string, BtfType>();
    for (const t of btf.types) if (t.name && (t.kind === "STRUCT" || t.kind === "ENUM")) byName.set(`${t.kind}:${t.name}`, t);

    const enums = new Map<string, number>();
    for (const e of enumNames) {
      const t = byName.get(`ENUM:${e}`);
      if (!t) throw new Error(`enum ${e} not in BTF`);
      for (const v of t.values ?? []) enums.set(v.name, v.val);
    }

    const members = structNames.map((s) => {
      const t = byName.get(`STRUCT:${s}`);
      if (!t) throw new Error(`struct ${s} not in BTF`);
      return { name: s, members: (t.members ?? []).map((m) => ({ name: m.name, btfOffset: m.bits_offset / 8 })) };
    });
    const lines = [`#include <stdio.h>`, `#include <stddef.h>`, `#include "shared.h"`, `#define F(s, f) printf("%s{\\"name\\":\\"%s\\",\\"offset\\":%zu,\\"size\\":%zu}", first ? "" : ",", #f, offsetof(struct s, f), sizeof(((struct s *)0)->f)); first = 0;`, `int main(void) {`, `  int first = 1; printf("{");`];
    members.forEach((s, i) => {
      lines.push(`  printf("%s\\"${s.name}\\":{\\"size\\":%zu,\\"fields\\":[", ${i === 0 ? '""' : '","'}, sizeof(struct ${s.name})); first = 1;`);
      for (const m of s.members) lines.push(`  F(${s.name}, ${m.name})`);
      lines.push(`  printf("]}");`);
    });
    lines.push(`  printf("}\\n"); return 0; }`);
    writeFileSync(join(dir, "abi.c"), `${lines.join("\n")}\n`);
    run([tools.cc, "-std=c11", "-Wall", "-Werror", "-o", "abi", "abi.c"], dir);
    const abi = JSON.parse(run([join(dir, "abi")], dir)) as Record<string, { size: number; fields: Array<{ name: string; offset: number; size: number }> }>;

    const structs = new Map<string, CStruct>();
    for (const s of members) {
      const a = abi[s.name]!;
      structs.set(s.name, {
        name: s.name,
        size: a.size,
        fields: a.fields.map((f, i) => ({ ...f, btfOffset: s.members[i]!.btfOffset })),
      });
    }
    return { structs, enums };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every difference between the two sides, one line each; empty when they agree. */
export function compareLayouts(c: CLayout, ts: TsLayout): string[] {
  const problems: string[] = [];
  const cNames = [...c.structs.keys()].sort();
  const tsNames = Object.keys(ts.structs).sort();
  for (const n of cNames) if (!tsNames.includes(n)) problems.push(`struct ${n}: in the header, not in layout.ts`);
  for (const n of tsNames) if (!cNames.includes(n)) problems.push(`struct ${n}: in layout.ts, not in the header`);
  for (const [name, cs] of c.structs) {
    const t = ts.structs[name];
    if (!t) continue;
    if (t.size !== cs.size) problems.push(`struct ${name}: sizeof ${cs.size} in C, ${t.size} in layout.ts`);
    const cf = cs.fields.map((f) => f.name);
    const tf = Object.keys(t.fields);
    if (cf.join(",") !== tf.join(",")) problems.push(`struct ${name}: fields [${cf.join(", ")}] in C, [${tf.join(", ")}] in layout.ts`);
    for (const f of cs.fields) {
      if (f.btfOffset !== f.offset) problems.push(`${name}.${f.name}: offset ${f.offset} on the host, ${f.btfOffset} in BPF`);
      const tfield = t.fields[f.name];
      if (!tfield) continue;
      if (tfield.offset !== f.offset || tfield.size !== f.size)
        problems.push(`${name}.${f.name}: offset ${f.offset} size ${f.size} in C, offset ${tfield.offset} size ${tfield.size} in layout.ts`);
    }
  }
  for (const [n, v] of c.enums) {
    const t = ts.enums.get(n);
    if (t === undefined) problems.push(`${n}: in the header, not in layout.ts`);
    else if (t !== v) problems.push(`${n}: ${v} in C, ${t} in layout.ts`);
  }
  for (const n of ts.enums.keys()) if (!c.enums.has(n)) problems.push(`${n}: in layout.ts, not in the header`);
  return problems;
}
