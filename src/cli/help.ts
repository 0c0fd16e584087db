import { GLOBAL_FLAGS, type Command, type FlagSpec } from "./command.ts";
import { commandPath } from "./parse-args.ts";

/** Help text for the last command of `path`: usage, description, subcommands, flags. */
export function renderHelp(path: readonly Command[]): string {
  const command = path[path.length - 1]!;
  const lines: string[] = [command.summary, "", "Usage:", `  ${command.usage}`];
  if (command.description) lines.push("", command.description.trimEnd());
  if (command.subcommands?.length) {
    lines.push("", "Commands:");
    const width = Math.max(...command.subcommands.map((c) => c.name.length));
    for (const sub of command.subcommands) lines.push(`  ${sub.name.padEnd(width)}  ${sub.summary}`);
    lines.push("", `Run '${commandPath(path)} COMMAND --help' for more about a command.`);
  }
  if (command.flags?.length) lines.push("", "Flags:", ...renderFlags(command.flags));
  lines.push("", "Global flags:", ...renderFlags(GLOBAL_FLAGS));
  lines.push("", "Exit codes: 0 ok, 1 failure, 2 usage error, 3 policy invalid.");
  return lines.join("\n") + "\n";
}

function renderFlags(flags: readonly FlagSpec[]): string[] {
  const left = flags.map((f) => {
    const names = (f.short ? `-${f.short}, ` : "    ") + `--${f.name}`;
    return f.kind === "boolean" ? names : `${names} ${f.placeholder ?? f.kind.toUpperCase()}`;
  });
  const width = Math.max(...left.map((l) => l.length));
  return flags.map((f, i) => {
    const dflt = f.default !== undefined && f.kind !== "boolean" ? ` (default ${f.default})` : "";
    return `  ${left[i]!.padEnd(width)}  ${f.help}${dflt}`;
  });
}
