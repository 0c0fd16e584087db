/**
 * Portability (issue 4, item 8): sluice's BPF object, loaded by sluice's own bun:ffi libbpf
 * bindings, enforces on the stock Debian 12 kernel (6.1) and not only on this host's kernel.
 *
 * Boots that kernel in a qemu TCG guest (scripts/kernel-guest/: the Debian package fetched with
 * `apt-get download` and cached in .cache/kernel-guest/, a busybox initramfs, the host's / shared
 * read-only over 9p) and runs test/guest/kernel-6.1.guest.ts inside: allowed connect, EPERM for
 * the rest (IPv4, IPv6, v4-mapped, UDP connect and sendmsg), an unmanaged process untouched, a
 * child of a classified process inheriting its workload, a Service connect redirected to a
 * stand-in proxy that recovers the original destination (connect4 + sockops), what the kernel
 * reports.
 *
 * Skips, saying why, only when something outside the project is missing: a non-x86_64 host, no
 * qemu and apt cannot install it, no network to the Debian archive and no cached kernel
 * (scripts/kernel-guest/prepare.sh exit 77). CI gets qemu through scripts/setup's apt packages.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { produceBpfObjects } from "../../scripts/build-bpf.ts";

const REPO = resolve(import.meta.dir, "../..");
const PREPARE = join(REPO, "scripts/kernel-guest/prepare.sh");
const RUN = join(REPO, "scripts/kernel-guest/run-guest.sh");
const SUITE = "./test/guest/kernel-6.1.guest.ts";
const GUEST_TIMEOUT_S = 240;

let guestDir = "";

/** The kernel, modules and initramfs (downloaded and built once, then cached); "" when ready. */
async function prepare(): Promise<string> {
  if (process.platform !== "linux" || process.arch !== "x64") return `needs an x86_64 Linux host (the guest runs the host's own binaries), this is ${process.platform}/${process.arch}`;
  if (!Bun.which("apt-get") && !existsSync("/usr/bin/apt-get")) return "no apt-get: the guest kernel is Debian 12's package, fetched with apt-get download";
  const started = performance.now();
  const p = Bun.spawn([PREPARE], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code === 77) return err.split("\n").find((l) => l.includes("unavailable:"))?.replace(/^kernel-guest: unavailable: /, "") ?? err.trim();
  if (code !== 0) throw new Error(`scripts/kernel-guest/prepare.sh failed (exit ${code}):\n${err}`);
  guestDir = out.trim();
  console.log(`kernel guest ready in ${((performance.now() - started) / 1000).toFixed(1)}s: ${out.trim()}${err.trim() ? `\n${err.trim()}` : ""}`);
  return "";
}

const skip = await prepare();
if (skip) console.warn(`test/kernel/guest-6.1.test.ts skipped: ${skip}`);

describe.skipIf(skip !== "")("the stock Debian 12 kernel (6.1) in a qemu TCG guest", () => {
  test(
    "sluice's loader attaches there and enforces: allow, EPERM (v4, v6, v4-mapped, UDP), unmanaged untouched, children inherit",
    async () => {
      // The guest sees the host's / read-only: the object must be built here first (cached by its inputs).
      produceBpfObjects();
      const started = performance.now();
      const p = Bun.spawn([RUN, "--guest", guestDir, "--timeout", String(GUEST_TIMEOUT_S), "--", "bun", "test", SUITE], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      // The guest's output, indented so that its own totals are not mistaken for this run's.
      console.log(`guest run (${seconds}s, exit ${code}):\n${`${out}${err}`.trimEnd().replace(/^/gm, "  guest| ")}`);

      expect(code).toBe(0);
      expect(out).toMatch(/^guest kernel 6\.1\./m);
      const passed = out.match(/^ *(\d+) pass$/m);
      expect(Number(passed?.[1] ?? 0)).toBeGreaterThanOrEqual(6);
      expect(out).toMatch(/^ *0 fail$/m);
      expect(out).not.toContain("(skip)");
      for (const what of [
        "loader attached and pinned every program there",
        "allowed connects succeed, the rest get EPERM (IPv4, IPv6, v4-mapped, UDP)",
        "the plain bash the agent spawns inherits the agent's workload",
        "UDP sendmsg (IPv4, IPv6) and a connect from one of its threads",
        "redirect: the agent's connect to an intercepted Service lands on the proxy",
      ]) {
        expect(out).toMatch(new RegExp(`^\\(pass\\) sluice on the stock Debian kernel \\(6\\.1\\.[^)]*\\) > .*${what.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`, "m"));
      }
    },
    (GUEST_TIMEOUT_S + 60) * 1000,
  );
});
