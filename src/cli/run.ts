import { SluiceError, UsageError } from "../errors/index.ts";
import { EXIT, type Command, type CommandContext } from "./command.ts";
import { renderHelp } from "./help.ts";
import { commandPath, parseArgs } from "./parse-args.ts";

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
};

/** Parses argv against the command tree, runs the command, maps errors to exit codes. */
export async function runCli(root: Command, argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let path: readonly Command[] = [root];
  try {
    const parsed = parseArgs(root, argv);
    path = parsed.path;
    const command = path[path.length - 1]!;
    if (parsed.flags.help || !command.run) {
      const text = renderHelp(path);
      if (parsed.flags.help) {
        io.out(text);
        return EXIT.ok;
      }
      io.err(text);
      return EXIT.usage;
    }
    const ctx: CommandContext = { flags: parsed.flags, args: parsed.args, out: io.out, err: io.err, env: io.env };
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`sluice: ${err.message}\n`);
      if (!err.message.includes("--help")) io.err(`run '${err.command ?? commandPath(path)} --help' for usage\n`);
      return EXIT.usage;
    }
    if (err instanceof SluiceError) {
      io.err(`sluice: ${err.message}\n`);
      return EXIT.failure;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.err(`sluice: internal error: ${message}\n`);
    if (io.env.SLUICE_DEBUG && err instanceof Error && err.stack) io.err(err.stack + "\n");
    return EXIT.failure;
  }
}
