import { SLUICE_VERSION } from "../version.ts";
import { isCompiledBinary } from "../assets/index.ts";
import { EXIT, type Command } from "./command.ts";

export const versionCommand: Command = {
  name: "version",
  summary: "Print the sluice version",
  usage: "sluice version [--json]",
  run({ flags, out }) {
    const info = { version: SLUICE_VERSION, bun: Bun.version, build: isCompiledBinary() ? "binary" : "source", platform: `${process.platform}-${process.arch}` };
    out(flags.json ? JSON.stringify(info) + "\n" : `sluice ${info.version} (bun ${info.bun}, ${info.platform}, ${info.build})\n`);
    return EXIT.ok;
  },
};
