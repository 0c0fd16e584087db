import { UsageError } from "../errors/index.ts";
import { GLOBAL_FLAGS, type Command, type FlagSpec, type FlagValues } from "./command.ts";
import { suggest } from "../schema/index.ts";

export interface ParsedInvocation {
  /** The chain of commands from the root, e.g. [sluice, policy, check]. */
  readonly path: readonly Command[];
  readonly flags: FlagValues;
  readonly args: readonly string[];
}

const MAX_ARGV = 256;
const MAX_ARG_LENGTH = 8192;

/** Walks subcommands, then parses `--flag value`, `--flag=value`, `-f value`, `--` and positionals. */
export function parseArgs(root: Command, argv: readonly string[]): ParsedInvocation {
  const path: Command[] = [root];
  try {
    return parseInto(path, argv);
  } catch (e) {
    if (e instanceof UsageError && e.command === undefined) throw new UsageError(e.message, commandPath(path));
    throw e;
  }
}

function parseInto(path: Command[], argv: readonly string[]): ParsedInvocation {
  if (argv.length > MAX_ARGV) throw new UsageError(`too many arguments (${argv.length}, at most ${MAX_ARGV})`);
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i]!;
    const current = path[path.length - 1]!;
    if (word.startsWith("-") || !current.subcommands) break;
    const next = current.subcommands.find((c) => c.name === word);
    if (!next) {
      const names = current.subcommands.map((c) => c.name);
      const hint = suggest(word, names);
      throw new UsageError(`unknown command "${word}" for "${commandPath(path)}"${hint ? `; did you mean "${hint}"?` : ""}\nrun '${commandPath(path)} --help' for the list`);
    }
    path.push(next);
  }
  const command = path[path.length - 1]!;
  const specs = [...(command.flags ?? []), ...GLOBAL_FLAGS];
  const flags: FlagValues = {};
  for (const spec of specs) if (spec.default !== undefined) flags[spec.name] = spec.default;
  const args: string[] = [];

  for (; i < argv.length; i++) {
    const word = argv[i]!;
    if (word.length > MAX_ARG_LENGTH) throw new UsageError(`argument too long (${word.length} bytes)`);
    if (word === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith("-") || word === "-") {
      args.push(word);
      continue;
    }
    const long = word.startsWith("--");
    const body = word.slice(long ? 2 : 1);
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = specs.find((s) => (long ? s.name === name : s.short === name));
    if (!spec) {
      const hint = suggest(name, specs.map((s) => s.name));
      throw new UsageError(`unknown flag ${word} for "${commandPath(path)}"${hint ? `; did you mean --${hint}?` : ""}`);
    }
    if (spec.kind === "boolean") {
      if (eq >= 0) flags[spec.name] = parseBoolean(spec, body.slice(eq + 1));
      else flags[spec.name] = true;
      continue;
    }
    let raw: string | undefined;
    if (eq >= 0) raw = body.slice(eq + 1);
    else {
      raw = argv[++i];
      if (raw === undefined) throw new UsageError(`flag --${spec.name} needs a value (${spec.placeholder ?? spec.kind})`);
    }
    flags[spec.name] = spec.kind === "integer" ? parseInteger(spec, raw) : raw;
  }

  if (!flags.help) {
    const max = command.maxArgs ?? 0;
    if (args.length > max) {
      throw new UsageError(max === 0 ? `"${commandPath(path)}" takes no arguments (got "${args[0]}")` : `"${commandPath(path)}" takes at most ${max} argument(s), got ${args.length}`);
    }
  }
  return { path, flags, args };
}

export function commandPath(path: readonly Command[]): string {
  return path.map((c) => c.name).join(" ");
}

function parseBoolean(spec: FlagSpec, raw: string): boolean {
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new UsageError(`flag --${spec.name} takes true or false, got "${raw}"`);
}

function parseInteger(spec: FlagSpec, raw: string): number {
  if (!/^-?\d{1,15}$/.test(raw)) throw new UsageError(`flag --${spec.name} takes an integer, got "${raw}"`);
  return Number(raw);
}
