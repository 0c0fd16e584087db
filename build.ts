#!/usr/bin/env bun
/**
 * Builds `dist/sluice`: one self-contained executable (bytecode, ESM, no .env/bunfig autoload).
 *
 * Steps:
 *   1. produce  – build outputs that get embedded: the BPF objects (scripts/build-bpf.ts: clang
 *                 against a vmlinux.h generated from this host's BTF; cached in .cache/bpf). The
 *                 libbpf shared object is built by scripts/build-libbpf.sh and vendored.
 *   2. embed    – every file matched by src/assets/catalog.ts is imported `with {type: "file"}` from
 *                 a generated entry module, so the bundler puts it in the binary's $bunfs.
 *   3. native   – lmdb's (and msgpackr-extract's) N-API addon: their loader computes the path at run
 *                 time, which a compiled binary cannot follow, so a plugin replaces the loader with
 *                 a module that requires the `.node` file by absolute path; Bun embeds it and
 *                 extracts it to $TMPDIR at run time.
 *   4. compile  – Bun.build with compile.
 *
 * Usage: bun run build.ts [--outfile PATH] [--list]
 */
import { mkdirSync, writeFileSync, existsSync, statSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import type { BunPlugin } from "bun";
import { ASSET_GROUPS } from "./src/assets/catalog.ts";
import { produceBpfObjects } from "./scripts/build-bpf.ts";

const root = import.meta.dir;
const args = process.argv.slice(2);
const outfile = resolve(root, valueOf("--outfile") ?? "dist/sluice");
const cacheDir = join(root, ".cache/build");

function valueOf(flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

function listEmbeddedFiles(): string[] {
  const files = new Set<string>();
  for (const group of ASSET_GROUPS) {
    const matched = [...new Bun.Glob(group.glob).scanSync({ cwd: root })];
    if (matched.length === 0) throw new Error(`asset group ${group.glob} matches no file`);
    for (const f of matched) files.add(f);
  }
  return [...files].sort();
}

/** Step 2: an entry module that registers every embedded file, then runs the CLI. */
function writeEntry(files: string[]): string {
  mkdirSync(cacheDir, { recursive: true });
  const imports = files.map((f, i) => `import a${i} from ${JSON.stringify(join(root, f))} with { type: "file" };`);
  const table = files.map((f, i) => `  ${JSON.stringify(f)}: a${i},`);
  const source = [
    ...imports,
    `import { registerEmbeddedAssets } from ${JSON.stringify(join(root, "src/assets/index.ts"))};`,
    `registerEmbeddedAssets({`,
    ...table,
    `});`,
    `await import(${JSON.stringify(join(root, "src/main.ts"))});`,
    "",
  ].join("\n");
  const entry = join(cacheDir, "entry.ts");
  writeFileSync(entry, source);
  return entry;
}

/** Step 3: the N-API addons as files the bundler can see. */
function nativeAddonPlugin(): BunPlugin {
  const addonFor: Record<string, string> = {
    lmdb: join(root, "node_modules/@lmdb/lmdb-linux-x64/node.napi.glibc.node"),
    "msgpackr-extract": join(root, "node_modules/@msgpackr-extract/msgpackr-extract-linux-x64/node.napi.glibc.node"),
  };
  for (const [pkgName, path] of Object.entries(addonFor)) {
    if (!existsSync(path)) throw new Error(`native addon for ${pkgName} not found at ${path} (run bun install)`);
  }
  return {
    name: "embed-napi-addons",
    setup(build) {
      build.onResolve({ filter: /^node-gyp-build-optional-packages$/ }, (a) => {
        const owner = Object.keys(addonFor).find((p) => a.importer.includes(`/node_modules/${p}/`));
        if (!owner) throw new Error(`unexpected importer of node-gyp-build-optional-packages: ${a.importer}`);
        return { path: owner, namespace: "napi-addon" };
      });
      build.onLoad({ filter: /.*/, namespace: "napi-addon" }, (a) => ({
        contents: `module.exports = function load() { return require(${JSON.stringify(addonFor[a.path])}); };`,
        loader: "js",
      }));
    },
  };
}

async function main(): Promise<void> {
  if (!args.includes("--list")) await produceBpfObjects({});
  const files = listEmbeddedFiles();
  if (args.includes("--list")) {
    for (const f of files) console.log(f);
    return;
  }
  const started = performance.now();
  const entry = writeEntry(files);
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await Bun.build({
    entrypoints: [entry],
    compile: { outfile, autoloadDotenv: false, autoloadBunfig: false },
    target: "bun",
    format: "esm",
    bytecode: true,
    minify: { syntax: true, whitespace: true, identifiers: false },
    plugins: [nativeAddonPlugin()],
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    process.exit(1);
  }
  const size = (statSync(outfile).size / 1e6).toFixed(1);
  console.error(`built ${outfile} (${size} MB, ${files.length} embedded files) in ${Math.round(performance.now() - started)} ms`);
}

await main();
