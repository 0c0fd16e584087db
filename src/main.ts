#!/usr/bin/env bun
/** sluice CLI entry: parses argv and dispatches to src/cli/<command>.ts. */
import { rootCommand } from "./cli/root.ts";
import { runCli } from "./cli/run.ts";

const code = await runCli(rootCommand, process.argv.slice(2));
// Commands (serve included, which resolves after shutdown) are done here: drain stdout, then exit
// so no leftover handle keeps the process alive.
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
process.exit(code);
