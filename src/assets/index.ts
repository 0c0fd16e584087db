/**
 * Files embedded in `dist/sluice` (see catalog.ts and build.ts). Names are repository-relative
 * paths such as `policies/10-claude.yaml`. Running from source, they are read from the checkout.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ASSET_GROUPS } from "./catalog.ts";

export { ASSET_GROUPS, type AssetGroup } from "./catalog.ts";

/** name → path inside the binary ($bunfs); filled by the entry module build.ts generates. */
const embedded = new Map<string, string>();

const repoRoot = resolve(import.meta.dir, "../..");

/** Called once by the generated entry of the compiled binary. */
export function registerEmbeddedAssets(entries: Record<string, string>): void {
  for (const [name, path] of Object.entries(entries)) embedded.set(name, path);
}

export function isCompiledBinary(): boolean {
  return embedded.size > 0;
}

/** Names of the assets under a prefix (e.g. `policies/`), sorted. */
export function listAssets(prefix: string): string[] {
  if (isCompiledBinary()) return [...embedded.keys()].filter((n) => n.startsWith(prefix)).sort();
  const names = new Set<string>();
  for (const group of ASSET_GROUPS) {
    for (const name of new Bun.Glob(group.glob).scanSync({ cwd: repoRoot })) {
      if (name.startsWith(prefix)) names.add(name);
    }
  }
  return [...names].sort();
}

/** A readable file system path for an asset (inside the binary or in the checkout). */
export function assetPath(name: string): string {
  const inBinary = embedded.get(name);
  if (inBinary !== undefined) return inBinary;
  const onDisk = join(repoRoot, name);
  if (!isCompiledBinary() && existsSync(onDisk)) return onDisk;
  throw new Error(`asset ${name} is not embedded in this build`);
}

export function readAssetBytes(name: string): Uint8Array {
  return readFileSync(assetPath(name));
}

export function readAssetText(name: string): string {
  return readFileSync(assetPath(name), "utf8");
}
