/**
 * Produce the BPF objects (build step "produce", called by build.ts; also usable alone:
 * `bun run scripts/build-bpf.ts [--out DIR]`).
 *
 *   1. vmlinux.h from the running kernel's BTF (/sys/kernel/btf/vmlinux) with bpftool, cached in
 *      .cache/bpf/ under the BTF file's sha256 (CO-RE: the objects relocate on any BTF kernel).
 *   2. clang -target bpf -O2 -g per object (-g emits the BTF that CO-RE and map definitions need).
 *   3. llvm-strip -g: drop DWARF, keep .BTF/.BTF.ext.
 *
 * Outputs `<outDir>/<name>.bpf.o` (default .cache/bpf/), independent of dist/. Rebuilds only when a
 * source, header, vmlinux.h or the flags changed (a stamp next to each object records the inputs'
 * hash). The tools are Debian packages: clang, llvm (llvm-strip), bpftool, libbpf-dev (headers).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const BTF = "/sys/kernel/btf/vmlinux";

/** One BPF object: its main source (which #includes the concern files). */
export interface BpfObjectSpec {
  readonly name: string;
  readonly source: string;
}

export const BPF_OBJECTS: readonly BpfObjectSpec[] = [{ name: "sluice", source: "bpf/sluice.bpf.c" }];

export interface ProduceOptions {
  /** Where the objects go (default `<repo>/.cache/bpf`). vmlinux.h is always cached in .cache/bpf. */
  readonly outDir?: string;
  /** Print what is done to stderr. */
  readonly verbose?: boolean;
}

export class BpfBuildError extends Error {
  readonly code = "ERR_BPF_BUILD";
}

interface Tool {
  readonly names: readonly string[];
  readonly apt: string;
}

const TOOLS = {
  clang: { names: ["clang", "clang-14", "clang-15", "clang-16"], apt: "clang" },
  strip: { names: ["llvm-strip", "llvm-strip-14", "llvm-strip-15", "llvm-strip-16"], apt: "llvm" },
  bpftool: { names: ["bpftool", "/usr/sbin/bpftool"], apt: "bpftool" },
} satisfies Record<string, Tool>;

function findTool(tool: Tool): string {
  for (const n of tool.names) {
    const p = n.startsWith("/") ? (existsSync(n) ? n : null) : Bun.which(n, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });
    if (p) return p;
  }
  throw new BpfBuildError(`${tool.names[0]} not found: building the BPF objects needs it (apt-get install ${tool.apt})`);
}

function run(cmd: string[], what: string): string {
  const r = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    const err = r.stderr.toString().trim() || r.stdout.toString().trim();
    throw new BpfBuildError(`${what} failed (exit ${r.exitCode}): ${cmd.join(" ")}\n${err}`);
  }
  return r.stdout.toString();
}

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** vmlinux.h for the running kernel, regenerated only when its BTF changes. */
export function ensureVmlinuxH(cacheDir: string, verbose = false): string {
  if (!existsSync(BTF))
    throw new BpfBuildError(`${BTF} is missing: the kernel was built without CONFIG_DEBUG_INFO_BTF; CO-RE objects need a BTF kernel to build (and to load)`);
  const header = join(cacheDir, "vmlinux.h");
  const stamp = join(cacheDir, "vmlinux.h.btf-sha256");
  const btfHash = sha256(readFileSync(BTF));
  if (existsSync(header) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === btfHash) return header;
  const bpftool = findTool(TOOLS.bpftool);
  if (verbose) console.error(`bpf: generating ${header} from ${BTF}`);
  const text = run([bpftool, "btf", "dump", "file", BTF, "format", "c"], "bpftool btf dump");
  const tmp = `${header}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, header);
  writeFileSync(stamp, `${btfHash}\n`);
  return header;
}

function inputsHash(spec: BpfObjectSpec, flags: readonly string[], vmlinuxH: string): string {
  const h = createHash("sha256");
  h.update(flags.join("\0"));
  h.update(readFileSync(`${vmlinuxH}.btf-sha256`));
  for (const dir of ["bpf", "bpf/include"]) {
    for (const f of readdirSync(join(ROOT, dir)).sort()) {
      if (!/\.(c|h)$/.test(f)) continue;
      h.update(`${dir}/${f}\0`).update(readFileSync(join(ROOT, dir, f)));
    }
  }
  h.update(spec.source);
  return h.digest("hex");
}

/** Compile every object of BPF_OBJECTS; returns the absolute paths of the `.bpf.o` files. */
export function produceBpfObjects(opts: ProduceOptions = {}): string[] {
  const cacheDir = join(ROOT, ".cache/bpf");
  const outDir = resolve(ROOT, opts.outDir ?? cacheDir);
  mkdirSync(cacheDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  const vmlinuxH = ensureVmlinuxH(cacheDir, opts.verbose);
  const clang = findTool(TOOLS.clang);
  const strip = findTool(TOOLS.strip);
  if (!existsSync("/usr/include/bpf/bpf_helpers.h"))
    throw new BpfBuildError("/usr/include/bpf/bpf_helpers.h not found: the BPF programs need libbpf's headers (apt-get install libbpf-dev)");

  const flags = ["-target", "bpf", "-O2", "-g", "-Wall", "-Werror", "-D__TARGET_ARCH_x86", "-I", "bpf/include", "-I", cacheDir];
  const outputs: string[] = [];
  for (const spec of BPF_OBJECTS) {
    const out = join(outDir, `${spec.name}.bpf.o`);
    const stampPath = `${out}.inputs-sha256`;
    const hash = inputsHash(spec, flags, vmlinuxH);
    if (existsSync(out) && existsSync(stampPath) && readFileSync(stampPath, "utf8").trim() === hash) {
      outputs.push(out);
      continue;
    }
    const tmp = `${out}.tmp`;
    if (opts.verbose) console.error(`bpf: ${spec.source} → ${out}`);
    run([clang, ...flags, "-c", spec.source, "-o", tmp], `compiling ${spec.source}`);
    run([strip, "-g", tmp], `stripping DWARF from ${spec.name}.bpf.o`);
    renameSync(tmp, out);
    writeFileSync(stampPath, `${hash}\n`);
    outputs.push(out);
  }
  return outputs;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const i = args.indexOf("--out");
  try {
    const outs = produceBpfObjects({ outDir: i >= 0 ? args[i + 1] : undefined, verbose: true });
    for (const o of outs) console.log(o);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
