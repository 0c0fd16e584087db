import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSluice } from "../support/run-sluice.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-identify-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("sluice identify --pid names the workload, the selector's file:line, and why others did not match", async () => {
  const bin = join(dir, "bin");
  mkdirSync(bin);
  const agent = join(bin, "agent");
  copyFileSync("/bin/sleep", agent);
  const policies = join(dir, "policies");
  mkdirSync(policies);
  writeFileSync(
    join(policies, "w.yaml"),
    [
      "apiVersion: sluice/v1alpha1",
      "kind: WorkloadIdentity",
      "metadata: {name: agent}",
      "spec:",
      "  workloadID: agents/agent",
      "  selectors:",
      `    - process:binary:path: ${agent}`,
      "---",
      "apiVersion: sluice/v1alpha1",
      "kind: WorkloadIdentity",
      "metadata: {name: other}",
      "spec:",
      "  workloadID: other",
      "  selectors:",
      "    - process:binary:path: /usr/bin/other",
      "",
    ].join("\n"),
  );
  const proc = Bun.spawn([agent, "30"], { stdout: "ignore", stderr: "ignore" });
  try {
    await Bun.sleep(200); // let the exec finish before attesting
    const text = await runSluice(["identify", "--pid", String(proc.pid), policies]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`exe       ${agent}`);
    expect(text.stdout).toContain("spiffe://sluice.local/agents/agent");
    const json = JSON.parse((await runSluice(["identify", "--pid", String(proc.pid), "--json", policies])).stdout) as {
      identity: { spiffeId: string; selector: { file: string; line: number } };
      workloads: { name: string; matched: boolean }[];
    };
    expect(json.identity.spiffeId).toBe("spiffe://sluice.local/agents/agent");
    expect(json.identity.selector).toMatchObject({ file: join(policies, "w.yaml"), line: 7 });
    expect(json.workloads.map((w) => [w.name, w.matched])).toEqual([["agent", true], ["other", false]]);
  } finally {
    proc.kill();
  }
  const gone = await runSluice(["identify", "--pid", String(proc.pid), policies]);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toMatch(/process \d+|no such process|gone|exited/i);
});
