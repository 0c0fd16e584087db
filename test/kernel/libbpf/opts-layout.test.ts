/**
 * The `*_opts` structs the bindings lay out by hand (src/kernel/libbpf/opts.ts) against the C
 * compiler's sizeof/offsetof from libbpf's own headers (libbpf-dev, same 1.1 release).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LINK_CREATE_OPTS_LAYOUT, MAP_CREATE_OPTS_LAYOUT, OPEN_OPTS_LAYOUT, TC_HOOK_LAYOUT, TC_OPTS_LAYOUT, TEST_RUN_OPTS_LAYOUT } from "../../../src/kernel/libbpf/opts.ts";
import { tempDir } from "./support/kernel.ts";

const STRUCTS = {
  bpf_object_open_opts: OPEN_OPTS_LAYOUT,
  bpf_map_create_opts: MAP_CREATE_OPTS_LAYOUT,
  bpf_test_run_opts: TEST_RUN_OPTS_LAYOUT,
  bpf_link_create_opts: LINK_CREATE_OPTS_LAYOUT,
  bpf_tc_hook: TC_HOOK_LAYOUT,
  bpf_tc_opts: TC_OPTS_LAYOUT,
} as const;

describe("libbpf opts layouts", () => {
  const work = tempDir("sluice-opts");
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test("match libbpf 1.1's headers field by field", async () => {
    const version = readFileSync("/usr/include/bpf/libbpf_version.h", "utf8");
    expect(/LIBBPF_MAJOR_VERSION (\d+)/.exec(version)?.[1]).toBe("1");
    expect(/LIBBPF_MINOR_VERSION (\d+)/.exec(version)?.[1]).toBe("1");
    const lines: string[] = [];
    for (const [struct, layout] of Object.entries(STRUCTS)) {
      lines.push(`printf("${struct}.size %zu\\n", sizeof(struct ${struct}));`);
      for (const field of Object.keys(layout)) if (field !== "size") lines.push(`printf("${struct}.${field} %zu\\n", offsetof(struct ${struct}, ${field}));`);
    }
    const src = join(work, "opts.c");
    writeFileSync(src, `#include <stdio.h>\n#include <stddef.h>\n#include <bpf/libbpf.h>\n#include <bpf/bpf.h>\nint main(void) {\n${lines.join("\n")}\nreturn 0;\n}\n`);
    const exe = join(work, "opts");
    const cc = Bun.spawnSync(["clang", "-o", exe, src], { stderr: "pipe" });
    expect(cc.stderr.toString()).toBe("");
    const out = Bun.spawnSync([exe]).stdout.toString();
    const fromC = Object.fromEntries(out.trim().split("\n").map((l) => [l.split(" ")[0], Number(l.split(" ")[1])]));
    const fromTs = Object.fromEntries(Object.entries(STRUCTS).flatMap(([s, layout]) => Object.entries(layout).map(([f, v]) => [`${s}.${f}`, v])));
    expect(fromTs).toEqual(fromC);
  });
});
