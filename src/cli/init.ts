import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { listAssets, readAssetText } from "../assets/index.ts";
import { DEFAULTS } from "../config/index.ts";
import { UsageError, SluiceError } from "../errors/index.ts";
import { isValidTrustDomain, trustDomainProblem } from "../identity/index.ts";
import { EXIT, type Command } from "./command.ts";

export const initCommand: Command = {
  name: "init",
  summary: "Write sluice.yaml and commented example policies",
  usage: "sluice init [--dir DIR] [--trust-domain TD] [--force]",
  description: `Writes DIR/sluice.yaml (every field with its default, commented) and DIR/policies/*.yaml
(example policies showing every kind and field, all valid). Existing files are never overwritten
unless --force is given; without it, nothing is written if any target exists.

Examples:
  sudo sluice init                               # /etc/sluice/sluice.yaml, /etc/sluice/policies/
  sluice init --dir ./sluice-test --trust-domain acme.corp`,
  flags: [
    { name: "dir", kind: "string", placeholder: "DIR", help: "where to write sluice.yaml and policies/", default: "/etc/sluice" },
    { name: "trust-domain", kind: "string", placeholder: "TD", help: "SPIFFE trust domain written into sluice.yaml", default: DEFAULTS.trustDomain },
    { name: "force", short: "f", kind: "boolean", help: "overwrite existing files" },
  ],
  run({ flags, out, err }) {
    const dir = String(flags.dir);
    const trustDomain = String(flags["trust-domain"]);
    if (!isValidTrustDomain(trustDomain)) {
      throw new UsageError(`--trust-domain "${trustDomain}": ${trustDomainProblem(trustDomain)!.message}`);
    }
    const policyDir = join(dir, "policies");
    const config = readAssetText("templates/sluice.yaml").replaceAll("{{trustDomain}}", trustDomain).replaceAll("{{policyDir}}", policyDir);
    const files: { path: string; text: string }[] = [{ path: join(dir, "sluice.yaml"), text: config }];
    for (const name of listAssets("policies/")) files.push({ path: join(policyDir, basename(name)), text: readAssetText(name) });

    const existing = files.filter((f) => existsSync(f.path)).map((f) => f.path);
    if (existing.length > 0 && !flags.force) {
      throw new SluiceError("ERR_INIT_EXISTS", `refusing to overwrite existing files (use --force):\n  ${existing.join("\n  ")}`);
    }
    mkdirSync(policyDir, { recursive: true, mode: 0o755 });
    for (const file of files) {
      const tmp = `${file.path}.tmp-${process.pid}`;
      writeFileSync(tmp, file.text, { mode: 0o644 });
      renameSync(tmp, file.path);
    }
    if (flags.json) out(JSON.stringify({ written: files.map((f) => f.path) }) + "\n");
    else {
      for (const f of files) out(`wrote ${f.path}\n`);
      err(`next: sluice policy check ${policyDir}; sluice serve${dir === "/etc/sluice" ? "" : ` --config ${join(dir, "sluice.yaml")}`}\n`);
    }
    return EXIT.ok;
  },
};
