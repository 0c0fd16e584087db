import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "../../src/cli/command.ts";
import { rootCommand } from "../../src/cli/root.ts";
import { REPO } from "../support/serve-process.ts";
import { runSluice } from "../support/run-sluice.ts";

const tmp = mkdtempSync(join(tmpdir(), "sluice-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function allCommands(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  const here = [...path, cmd.name];
  return [{ path: here, cmd }, ...(cmd.subcommands ?? []).flatMap((c) => allCommands(c, here))];
}

describe("help everywhere", () => {
  for (const { path, cmd } of allCommands(rootCommand)) {
    test(`${path.join(" ")} --help`, async () => {
      const r = await runSluice([...path.slice(1), "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(cmd.summary);
      expect(r.stdout).toContain(`Usage:\n  ${cmd.usage}`);
      for (const f of cmd.flags ?? []) expect(r.stdout).toContain(`--${f.name}`);
      for (const s of cmd.subcommands ?? []) expect(r.stdout).toContain(`  ${s.name}`);
      expect(cmd.summary.length).toBeLessThan(120);
    });
  }
  test("a group without a subcommand prints help to stderr with exit 2", async () => {
    const r = await runSluice(["policy"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Commands:\n  check");
  });
  test("a bad flag points at that command's help", async () => {
    const r = await runSluice(["policy", "explain", "--pdi", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('sluice: unknown flag --pdi for "sluice policy explain"; did you mean --pid?\nrun \'sluice policy explain --help\' for usage\n');
  });
  test("a misspelled command exits 2 with a suggestion", async () => {
    const r = await runSluice(["polcy", "check"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "polcy" for "sluice"; did you mean "policy"?');
  });
});

describe("version", () => {
  test("text and json", async () => {
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    const text = await runSluice(["version"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toStartWith(`sluice ${pkg.version} (bun ${Bun.version}`);
    const json = JSON.parse((await runSluice(["version", "--json"])).stdout) as Record<string, string>;
    expect(json).toMatchObject({ version: pkg.version, build: "source" });
  });
});

describe("init", () => {
  const dir = join(tmp, "etc");
  test("writes config and example policies that check clean", async () => {
    const r = await runSluice(["init", "--dir", dir, "--trust-domain", "acme.corp"]);
    expect(r.code).toBe(0);
    expect(readdirSync(join(dir, "policies")).sort()).toEqual(readdirSync(join(REPO, "policies")).filter((f) => f.endsWith(".yaml")).sort());
    const config = readFileSync(join(dir, "sluice.yaml"), "utf8");
    expect(config).toContain("trustDomain: acme.corp");
    expect(config).toContain(`policyDir: ${join(dir, "policies")}`);
    const check = await runSluice(["policy", "check", "--config", join(dir, "sluice.yaml")]);
    expect(check.stdout).toContain(`${join(dir, "policies")}: valid`);
    expect(check.code).toBe(0);
  });
  test("refuses to overwrite, and writes nothing, without --force", async () => {
    writeFileSync(join(dir, "sluice.yaml"), "# mine\n");
    const r = await runSluice(["init", "--dir", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refusing to overwrite existing files (use --force)");
    expect(readFileSync(join(dir, "sluice.yaml"), "utf8")).toBe("# mine\n");
  });
  test("--force overwrites", async () => {
    const r = await runSluice(["init", "--dir", dir, "--force"]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "sluice.yaml"), "utf8")).toContain("trustDomain: sluice.local");
  });
  test("rejects an invalid trust domain", async () => {
    const r = await runSluice(["init", "--dir", join(tmp, "x"), "--trust-domain", "Acme"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--trust-domain "Acme": trust domain must be lowercase (did you mean "acme"?)');
  });
});

describe("policy check", () => {
  test("the repository's examples are valid", async () => {
    const r = await runSluice(["policy", "check", join(REPO, "policies")]);
    expect(r.stdout).toContain(": valid");
    expect(r.code).toBe(0);
  });
  test("exit 3 and every error with file:line:col", async () => {
    const dir = join(tmp, "bad");
    rmSync(dir, { recursive: true, force: true });
    require("node:fs").mkdirSync(dir);
    writeFileSync(join(dir, "a.yaml"), "apiVersion: sluice/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec:\n  adresses: []\n");
    writeFileSync(join(dir, "b.yaml"), "apiVersion: sluice/v1alpha1\nkind: Servise\nmetadata: {name: x}\n");
    const r = await runSluice(["policy", "check", dir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`${join(dir, "a.yaml")}:5:3: error: unknown field \`adresses\``);
    expect(r.stdout).toContain(`${join(dir, "b.yaml")}:2:7: error:`);
    expect(r.stdout).toContain("INVALID");
    const json = JSON.parse((await runSluice(["policy", "check", dir, "--json"])).stdout) as { ok: boolean; diagnostics: { file: string; line: number }[] };
    expect(json.ok).toBe(false);
    expect(json.diagnostics.map((d) => d.line)).toContain(5);
  });
});

describe("policy explain", () => {
  test("names the rule that allowed, and denies by default", async () => {
    const dir = join(tmp, "explain");
    require("node:fs").mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "w.yaml"),
      [
        "apiVersion: sluice/v1alpha1",
        "kind: WorkloadIdentity",
        "metadata: {name: claude}",
        "spec:",
        "  workloadID: claude",
        "  selectors:",
        "    - process:uid: [1000]",
        "      process:binary:path: /usr/local/bin/claude",
        "  egress:",
        "    - cidr: 10.20.0.0/16",
        "      ports: [5432]",
        "",
      ].join("\n"),
    );
    const allow = await runSluice(["policy", "explain", "--workload", "claude", "--to", "10.20.1.5:5432", "--json", dir]);
    expect(allow.code).toBe(0);
    const a = JSON.parse(allow.stdout) as { workload: string; verdict: string; rule?: { file: string; line: number } };
    expect(a.workload).toBe("spiffe://sluice.local/claude");
    expect(a.verdict).toBe("allow");
    expect(a.rule).toMatchObject({ file: join(dir, "w.yaml"), line: 10 });
    const deny = await runSluice(["policy", "explain", "--workload", "spiffe://sluice.local/claude", "--to", "10.20.1.5:22", "--json", dir]);
    expect((JSON.parse(deny.stdout) as { verdict: string }).verdict).toBe("deny");
    const text = await runSluice(["policy", "explain", "-w", "claude", "--to", "10.20.1.5:22", dir]);
    expect(text.stdout.toLowerCase()).toContain("deny");
  });
  test("usage errors", async () => {
    expect((await runSluice(["policy", "explain", "--to", "a:1"])).stderr).toContain("give exactly one of --workload ID and --pid N");
    const bad = await runSluice(["policy", "explain", "-w", "claude", "--to", "example.com"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"example.com" is not host:port');
  });
});
