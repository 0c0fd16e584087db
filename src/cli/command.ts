/**
 * A command is a small declared object (name, help text, flags, run); the tree of them is the CLI.
 * Exit codes (DESIGN.md §1): 0 ok, 1 failure, 2 usage error, 3 policy invalid.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, policyInvalid: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type FlagKind = "boolean" | "string" | "integer";

export interface FlagSpec {
  readonly name: string; // without dashes: "config"
  readonly short?: string; // "f"
  readonly kind: FlagKind;
  readonly help: string;
  readonly placeholder?: string; // "PATH"
  readonly default?: string | number | boolean;
}

export type FlagValues = Record<string, string | number | boolean | undefined>;

export interface CommandContext {
  readonly flags: FlagValues;
  readonly args: readonly string[];
  /** stdout: data only. */
  readonly out: (text: string) => void;
  /** stderr: progress, warnings, errors. */
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** e.g. "sluice policy check [DIR]" */
  readonly usage: string;
  /** Longer text: what it does, examples. */
  readonly description?: string;
  readonly flags?: readonly FlagSpec[];
  readonly subcommands?: readonly Command[];
  /** Highest number of positional arguments accepted (default 0). */
  readonly maxArgs?: number;
  readonly run?: (ctx: CommandContext) => Promise<number> | number;
}

/** Flags every command accepts. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: "config", short: "c", kind: "string", placeholder: "PATH", help: "config file (default /etc/sluice/sluice.yaml, env SLUICE_CONFIG)" },
  { name: "json", kind: "boolean", help: "machine-readable output" },
  { name: "help", short: "h", kind: "boolean", help: "show help for this command" },
];
