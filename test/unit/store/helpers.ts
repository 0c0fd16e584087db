import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("store tests: not root, so the test that chowns a key to another user is skipped");
export const NOBODY = 65534;

/** A fresh temp directory; `cleanup` removes it. Tests put their data dir at `<root>/data`. */
export function tempRoot(prefix = "sluice-store-"): { root: string; dataDir: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return { root, dataDir: join(root, "data"), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export const FIXTURES = join(import.meta.dir, "fixtures");

/** Run a fixture script in a separate bun process and parse the single JSON line it prints. */
export async function runFixture(script: string, args: string[], wrap: string[] = []): Promise<Record<string, unknown>> {
  const proc = Bun.spawn([...wrap, process.execPath, join(FIXTURES, script), ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${script} exited ${code}: ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

/** Start a fixture that keeps running; resolves once it printed its first JSON line. */
export async function startFixture(script: string, args: string[]): Promise<{ proc: Bun.Subprocess<"ignore", "pipe", "pipe">; first: Record<string, unknown>; lines: AsyncIterator<string> }> {
  const proc = Bun.spawn([process.execPath, join(FIXTURES, script), ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const lines = readLines(proc.stdout);
  const first = await lines.next();
  if (first.done) {
    const err = await new Response(proc.stderr).text();
    throw new Error(`${script} exited before reporting: ${err}`);
  }
  return { proc, first: JSON.parse(first.value) as Record<string, unknown>, lines };
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) !== -1) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
    }
  }
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected a rejection");
}

export function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected a throw");
}
