/**
 * What the single binary carries besides code. One entry per group of files; build.ts embeds every
 * file each entry matches, and at run time `readAsset(name)` finds it inside the binary or, when
 * running from a checkout, in the repository. Later parts add BPF objects, the libbpf shared object
 * and web assets here (with a `produce` step in build.ts when the file is a build output).
 */
export interface AssetGroup {
  /** Glob relative to the repository root. */
  readonly glob: string;
  /** What the group is for (printed by `bun run build.ts --list`). */
  readonly purpose: string;
}

export const ASSET_GROUPS: readonly AssetGroup[] = [
  { glob: "policies/*.yaml", purpose: "commented example policies written by `sluice init`" },
  { glob: "templates/sluice.yaml", purpose: "the commented sluice.yaml written by `sluice init`" },
  {
    glob: "vendor/libbpf/libsluice-bpf.so",
    purpose: "libbpf 1.1 + libelf + zlib as one shared object needing only libc (scripts/build-libbpf.sh); dlopened from a memfd",
  },
  { glob: ".cache/bpf/*.bpf.o", purpose: "the BPF programs (built by scripts/build-bpf.ts from bpf/)" },
];
