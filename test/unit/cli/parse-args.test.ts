import { describe, expect, test } from "bun:test";
import type { Command } from "../../../src/cli/command.ts";
import { parseArgs } from "../../../src/cli/parse-args.ts";
import { UsageError } from "../../../src/errors/index.ts";

const leaf: Command = {
  name: "check",
  summary: "s",
  usage: "u",
  maxArgs: 1,
  flags: [
    { name: "count", short: "n", kind: "integer", help: "h", default: 10 },
    { name: "follow", short: "f", kind: "boolean", help: "h" },
    { name: "to", kind: "string", help: "h" },
  ],
  run: () => 0,
};
const root: Command = { name: "sluice", summary: "s", usage: "u", subcommands: [{ name: "policy", summary: "s", usage: "u", subcommands: [leaf] }] };

function usageError(argv: string[]): string {
  try {
    parseArgs(root, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("expected a usage error");
}

describe("parseArgs", () => {
  test("walks subcommands and applies defaults", () => {
    const p = parseArgs(root, ["policy", "check", "dir"]);
    expect(p.path.map((c) => c.name)).toEqual(["sluice", "policy", "check"]);
    expect(p.args).toEqual(["dir"]);
    expect(p.flags.count).toBe(10);
  });
  test("long, long=, short, boolean and global flags", () => {
    const p = parseArgs(root, ["policy", "check", "--count=3", "-f", "--to", "a:1", "--json", "-c", "/x.yaml"]);
    expect(p.flags).toMatchObject({ count: 3, follow: true, to: "a:1", json: true, config: "/x.yaml" });
  });
  test("-- ends flags", () => {
    expect(parseArgs(root, ["policy", "check", "--", "--not-a-flag"]).args).toEqual(["--not-a-flag"]);
  });
  test("unknown command suggests the closest", () => {
    expect(usageError(["polcy"])).toContain('unknown command "polcy" for "sluice"; did you mean "policy"?');
  });
  test("unknown flag suggests the closest", () => {
    expect(usageError(["policy", "check", "--folow"])).toBe('unknown flag --folow for "sluice policy check"; did you mean --follow?');
  });
  test("missing value", () => {
    expect(usageError(["policy", "check", "--to"])).toBe("flag --to needs a value (string)");
  });
  test("integer flag rejects text", () => {
    expect(usageError(["policy", "check", "--count", "ten"])).toBe('flag --count takes an integer, got "ten"');
  });
  test("boolean flag with a bad value", () => {
    expect(usageError(["policy", "check", "--follow=maybe"])).toBe('flag --follow takes true or false, got "maybe"');
  });
  test("too many positional arguments", () => {
    expect(usageError(["policy", "check", "a", "b"])).toBe('"sluice policy check" takes at most 1 argument(s), got 2');
  });
  test("--help skips the argument count check", () => {
    expect(parseArgs(root, ["policy", "check", "a", "b", "--help"]).flags.help).toBe(true);
  });
  test("bounded argv", () => {
    expect(usageError(Array.from({ length: 300 }, () => "x"))).toContain("too many arguments");
  });
});
