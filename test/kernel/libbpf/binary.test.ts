/**
 * Inside a compiled executable libbpf comes from the binary itself: the catalog embeds the .so
 * (build.ts lists it), and the loader writes it to a memfd and dlopens /proc/self/fd/N. Proven
 * with a small executable compiled like dist/sluice (same catalog embedding, same Bun.build
 * compile options) whose entry prints libbpf's version, run from an empty directory.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ASSET_GROUPS } from "../../../src/assets/catalog.ts";
import { LIBBPF_ASSET } from "../../../src/kernel/libbpf/load.ts";
import { FIXTURES, REPO, tempDir } from "./support/kernel.ts";

const work = tempDir("sluice-ffi-binary");
const empty = join(work, "empty");
const binary = join(empty, "libbpf-version");

function catalogFiles(): string[] {
  const files = new Set<string>();
  for (const g of ASSET_GROUPS) for (const f of new Bun.Glob(g.glob).scanSync({ cwd: REPO })) files.add(f);
  return [...files].sort();
}

beforeAll(async () => {
  const files = catalogFiles();
  const entry = join(work, "entry.ts");
  writeFileSync(
    entry,
    [
      ...files.map((f, i) => `import a${i} from ${JSON.stringify(join(REPO, f))} with { type: "file" };`),
      `import { registerEmbeddedAssets } from ${JSON.stringify(join(REPO, "src/assets/index.ts"))};`,
      `registerEmbeddedAssets({ ${files.map((f, i) => `${JSON.stringify(f)}: a${i}`).join(", ")} });`,
      `await import(${JSON.stringify(join(FIXTURES, "libbpf-version-entry.ts"))});`,
    ].join("\n"),
  );
  const built = join(work, "built");
  const result = await Bun.build({
    entrypoints: [entry],
    compile: { outfile: built, autoloadDotenv: false, autoloadBunfig: false },
    target: "bun",
    format: "esm",
    bytecode: true,
  });
  if (!result.success) throw new Error(result.logs.map(String).join("\n"));
  mkdirSync(empty);
  copyFileSync(built, binary);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("libbpf inside a compiled executable", () => {
  test("build.ts embeds the shared object", async () => {
    const proc = Bun.spawn([process.execPath, "run", join(REPO, "build.ts"), "--list"], { cwd: REPO, stdout: "pipe" });
    expect((await new Response(proc.stdout).text()).split("\n")).toContain(LIBBPF_ASSET);
  });

  test("loads from a memfd, run from an empty directory, and reports libbpf 1.1", async () => {
    const proc = Bun.spawn([binary], { cwd: empty, env: { PATH: "/usr/bin:/bin" }, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const report = JSON.parse(out);
    expect(report.via).toBe("memfd");
    expect(report.version).toEqual({ major: 1, minor: 1 });
    expect(report.possibleCpus).toBeGreaterThan(0);
    expect(report.mappedFrom).toEqual(["/memfd:sluice-libbpf (deleted)"]);
  }, 30_000);
});
