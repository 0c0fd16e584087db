/**
 * The committed libbpf shared object (vendor/libbpf/, built by scripts/build-libbpf.sh) is the
 * one its MANIFEST describes, needs nothing but libc, exports every symbol the bindings declare
 * and nothing of the libelf/zlib inside it, and loads from source.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LIBBPF_ASSET, loadLibbpf } from "../../../src/kernel/libbpf/load.ts";
import { LIBBPF_SYMBOL_NAMES } from "../../../src/kernel/libbpf/symbols.ts";
import { REPO } from "./support/kernel.ts";

const so = join(REPO, LIBBPF_ASSET);
const manifest = Object.fromEntries(
  readFileSync(join(REPO, "vendor/libbpf/MANIFEST"), "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
);

async function readelf(...args: string[]): Promise<string> {
  const proc = Bun.spawn(["readelf", ...args, so], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`readelf ${args.join(" ")} failed`);
  return out;
}

describe("vendor/libbpf/libsluice-bpf.so", () => {
  test("its sha256 and size are the MANIFEST's", () => {
    const bytes = readFileSync(so);
    expect(new Bun.CryptoHasher("sha256").update(bytes).digest("hex")).toBe(manifest.sha256!);
    expect(String(bytes.length)).toBe(manifest.size!);
  });

  test("the MANIFEST's source versions are the ones scripts/build-libbpf.sh pins", () => {
    const script = readFileSync(join(REPO, "scripts/build-libbpf.sh"), "utf8");
    const pinned = (name: string) => new RegExp(`^${name}=\\$\\{${name}:-([^}]+)\\}`, "m").exec(script)?.[1];
    expect(manifest["source.libbpf"]).toBe(pinned("LIBBPF_DEB")!);
    expect(manifest["source.elfutils"]).toBe(pinned("ELFUTILS_DEB")!);
    expect(manifest["source.zlib"]).toBe(pinned("ZLIB_DEB")!);
  });

  test("needs only libc (and the dynamic loader)", async () => {
    const needed = [...(await readelf("-d", "-W")).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]).sort();
    expect(needed).toContain("libc.so.6");
    for (const n of needed) expect(["libc.so.6", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"]).toContain(n!);
  });

  test("exports every symbol the bindings use, and only libbpf's versioned API", async () => {
    const defined = (await readelf("--dyn-syms", "-W"))
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[4] === "GLOBAL" && f[6] !== "UND" && f[6] !== "ABS" && f[7] !== undefined)
      .map((f) => f[7]!);
    const names = new Set(defined.map((d) => d.split("@")[0]));
    for (const sym of LIBBPF_SYMBOL_NAMES) expect(names.has(sym) ? sym : `missing ${sym}`).toBe(sym);
    expect(defined.filter((d) => !/@@?LIBBPF_\d/.test(d))).toEqual([]);
    expect(names.has("elf_begin")).toBe(false);
    expect(names.has("inflate")).toBe(false);
  });

  test("loads from the checkout and reports libbpf 1.1", () => {
    const lib = loadLibbpf();
    expect(lib.via).toBe("file");
    expect(lib.version).toEqual({ major: 1, minor: 1 });
    expect(lib.possibleCpus).toBeGreaterThan(0);
    expect(lib.strerror(4007)).toBe("Kernel verifier blocks program loading");
    expect(lib.strerror(2)).toBe("No such file or directory");
  });
});
