#!/usr/bin/env bun
export {};
/**
 * Runs `bun test` (all of test/ by default, or the paths given), streams its output, and ends with
 * one line `N passed, N failed, N skipped` parsed from bun's totals; exits with bun's exit code.
 */
const args = process.argv.slice(2);
const proc = Bun.spawn(["bun", "test", ...(args.length ? args : ["test/"])], {
  stdin: "inherit",
  stdout: "inherit",
  stderr: "pipe",
});

const totals = { pass: 0, fail: 0, skip: 0, todo: 0 };
let tail = "";
const decoder = new TextDecoder();
for await (const chunk of proc.stderr) {
  process.stderr.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4096);
}
const code = await proc.exited;

// bun prints its summary last: " 12 pass", " 1 skip", " 0 fail" (one per line).
for (const key of Object.keys(totals) as (keyof typeof totals)[]) {
  const matches = [...tail.matchAll(new RegExp(`^\\s*(\\d+) ${key}\\s*$`, "gm"))];
  const last = matches.at(-1);
  if (last) totals[key] = Number(last[1]);
}
const failed = totals.fail === 0 && code !== 0 ? 1 : totals.fail;
console.log(`${totals.pass} passed, ${failed} failed, ${totals.skip + totals.todo} skipped`);
process.exit(code);
