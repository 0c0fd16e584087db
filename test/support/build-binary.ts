import { join } from "node:path";
import { REPO } from "./serve-process.ts";

/** Builds the single binary from the current source into `outfile` (what build.ts makes as dist/sluice). */
export async function buildBinary(outfile: string): Promise<void> {
  const proc = Bun.spawn([process.execPath, "run", join(REPO, "build.ts"), "--outfile", outfile], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`build failed (${code}):\n${stderr}`);
}
