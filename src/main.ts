#!/usr/bin/env bun
/** sluice CLI entry: parses argv and dispatches to src/cli/<command>.ts. */
// First: @simplewebauthn/server → @peculiar/x509 → tsyringe needs the Reflect metadata API before it
// loads, and the bundler hoists that package's initialisation above a plain static import of it
// (seen in dist/sluice): so install the polyfill, then load the CLI.
import "reflect-metadata";
const { rootCommand } = await import("./cli/root.ts");
const { runCli } = await import("./cli/run.ts");

const code = await runCli(rootCommand, process.argv.slice(2));
// Commands (serve included, which resolves after shutdown) are done here: drain stdout, then exit
// so no leftover handle keeps the process alive.
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
process.exit(code);
