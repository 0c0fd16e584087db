/** PolicyEngine against a real temp directory: edits applied, bad edits rejected, never wider. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type Logger } from "../../../src/log/index.ts";
import { PolicyEngine, formatDiagnostic, type Diagnostic, type LastGoodStore, type PolicySnapshot, type PolicySourceFile } from "../../../src/policy/index.ts";
import { MIN_SELECTORS, wi } from "./helpers.ts";

const TD = "sluice.local";
const CLAUDE = `spiffe://${TD}/claude`;
const allowing = (host: string) => wi(`  workloadID: claude\n${MIN_SELECTORS}  egress:\n    - host: ${host}\n`);
const BROKEN = wi("  workloadID: claude\n  selectors: [{process:uid: 1000}]\n  egress:\n    - host: ok.example.com\n      ports: [0]\n");

let dir: string;
let engine: PolicyEngine | undefined;
let logLines: string[];
let logger: Logger;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-engine-"));
  logLines = [];
  logger = createLogger({ level: "debug", write: (l) => logLines.push(l) });
});
afterEach(() => {
  engine?.stop();
  engine = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function make(opts: { dir?: string; lastGood?: LastGoodStore } = {}) {
  engine = new PolicyEngine({ dir: opts.dir ?? dir, trustDomain: TD, logger, debounceMs: 20, pollMs: 100, ...(opts.lastGood ? { lastGood: opts.lastGood } : {}) });
  return engine;
}

/** Resolves with the next swap or rejection, or rejects after `ms`. */
function next(e: PolicyEngine, ms = 3_000): Promise<{ kind: "applied"; snapshot: PolicySnapshot; previous: PolicySnapshot | undefined } | { kind: "rejected"; diagnostics: readonly Diagnostic[] }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off1();
      off2();
      reject(new Error(`no policy event within ${ms} ms`));
    }, ms);
    const done = (v: Parameters<typeof resolve>[0]) => {
      clearTimeout(timer);
      off1();
      off2();
      resolve(v);
    };
    const off1 = e.subscribe((snapshot, previous) => done({ kind: "applied", snapshot, previous }));
    const off2 = e.onError((diagnostics) => done({ kind: "rejected", diagnostics }));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const allows = (s: PolicySnapshot, host: string) => s.decideEgress(CLAUDE, { host, port: 443 }).verdict === "allow";

function memoryStore(initial?: PolicySourceFile[]) {
  const store = { files: initial, saves: 0, load: () => store.files, save: (f: PolicySourceFile[]) => ((store.files = f), store.saves++) };
  return store;
}

describe("PolicyEngine", () => {
  test("good edit applied, bad edit rejected (old snapshot kept), fix applied", async () => {
    writeFileSync(join(dir, "claude.yaml"), allowing("a.example.com"));
    const e = make();
    const started = await e.start();
    expect(started).toMatchObject({ ok: true, usedLastGood: false, diagnostics: [] });
    const first = e.current();
    expect(first.generation).toBe(1);
    expect(allows(first, "a.example.com")).toBe(true);

    let pending = next(e);
    writeFileSync(join(dir, "claude.yaml"), allowing("b.example.com"));
    const applied = await pending;
    expect(applied.kind).toBe("applied");
    if (applied.kind !== "applied") return;
    expect(applied.previous).toBe(first);
    expect(applied.snapshot.generation).toBe(2);
    expect(e.current()).toBe(applied.snapshot);
    expect(allows(e.current(), "b.example.com")).toBe(true);
    expect(allows(e.current(), "a.example.com")).toBe(false);

    pending = next(e);
    writeFileSync(join(dir, "claude.yaml"), BROKEN);
    const rejected = await pending;
    expect(rejected.kind).toBe("rejected");
    if (rejected.kind !== "rejected") return;
    expect(rejected.diagnostics.map(formatDiagnostic)).toEqual([`${join(dir, "claude.yaml")}:9:15: error: port 0 is out of range 1-65535`]);
    expect(e.current()).toBe(applied.snapshot);
    expect(allows(e.current(), "b.example.com")).toBe(true);

    pending = next(e);
    writeFileSync(join(dir, "claude.yaml"), allowing("c.example.com"));
    const fixed = await pending;
    expect(fixed.kind === "applied" && fixed.snapshot.generation).toBe(3);
    expect(allows(e.current(), "c.example.com")).toBe(true);
  });

  test("rename-replace (editor save pattern) and a new file are picked up", async () => {
    writeFileSync(join(dir, "claude.yaml"), allowing("a.example.com"));
    const e = make();
    await e.start();
    let pending = next(e);
    writeFileSync(join(dir, ".claude.yaml.swp"), "garbage: [");
    writeFileSync(join(dir, ".claude.yaml.tmp"), allowing("renamed.example.com"));
    renameSync(join(dir, ".claude.yaml.tmp"), join(dir, "claude.yaml"));
    const r = await pending;
    expect(r.kind).toBe("applied");
    expect(allows(e.current(), "renamed.example.com")).toBe(true);

    pending = next(e);
    writeFileSync(join(dir, "svc.yml"), "apiVersion: sluice/v1alpha1\nkind: Service\nmetadata: {name: s}\nspec:\n  addresses: [{address: s.example.com, port: 443}]\n");
    await pending;
    expect(e.current().stats.services).toBe(1);
  });

  test("rewriting identical content changes nothing", async () => {
    writeFileSync(join(dir, "claude.yaml"), allowing("a.example.com"));
    const e = make();
    await e.start();
    let events = 0;
    e.subscribe(() => events++);
    e.onError(() => events++);
    writeFileSync(join(dir, "claude.yaml"), allowing("a.example.com"));
    await sleep(400);
    expect(events).toBe(0);
    expect(await e.reloadNow()).toMatchObject({ status: "unchanged" });
    expect(e.current().generation).toBe(1);
  });

  test("a throwing subscriber breaks neither the swap nor the other subscribers", async () => {
    writeFileSync(join(dir, "claude.yaml"), allowing("a.example.com"));
    const e = make();
    await e.start();
    const seen: number[] = [];
    e.subscribe(() => {
      throw new Error("boom");
    });
    e.subscribe((s) => seen.push(s.generation));
    const pending = next(e);
    writeFileSync(join(dir, "claude.yaml"), allowing("b.example.com"));
    expect((await pending).kind).toBe("applied");
    expect(seen).toEqual([2]);
    expect(e.current().generation).toBe(2);
    expect(logLines.some((l) => l.includes("policy subscriber failed") && l.includes("boom"))).toBe(true);
  });

  test("invalid at start with a last good set: the last good set is in force, never wider", async () => {
    const store = memoryStore([{ path: join(dir, "old.yaml"), text: allowing("lastgood.example.com") }]);
    writeFileSync(join(dir, "claude.yaml"), BROKEN);
    const e = make({ lastGood: store });
    const started = await e.start();
    expect(started.ok).toBe(false);
    expect(started.usedLastGood).toBe(true);
    expect(started.diagnostics.map((d) => d.message)).toEqual(["port 0 is out of range 1-65535"]);
    expect(allows(e.current(), "lastgood.example.com")).toBe(true);
    expect(e.current().decideEgress(CLAUDE, { host: "other.example.com", port: 443 }).verdict).toBe("deny");
    expect(store.saves).toBe(0);

    const pending = next(e);
    writeFileSync(join(dir, "claude.yaml"), allowing("fixed.example.com"));
    await pending;
    expect(allows(e.current(), "fixed.example.com")).toBe(true);
    expect(store.saves).toBe(1);
    expect(store.files).toEqual([{ path: join(dir, "claude.yaml"), text: allowing("fixed.example.com") }]);
  });

  test("invalid at start without a last good set: no snapshot until the caller accepts an empty one", async () => {
    writeFileSync(join(dir, "claude.yaml"), BROKEN);
    const e = make();
    const started = await e.start();
    expect(started).toMatchObject({ ok: false, usedLastGood: false });
    expect(started.snapshot).toBeUndefined();
    expect(() => e.current()).toThrow("no valid policy is loaded");
    const empty = e.acceptEmpty();
    expect(empty.stats.workloads).toBe(0);
    expect(e.current()).toBe(empty);
    const pending = next(e);
    writeFileSync(join(dir, "claude.yaml"), allowing("a.example.com"));
    const r = await pending;
    expect(r.kind === "applied" && r.previous).toBe(empty);
  });

  test("a directory that does not exist yet: empty and valid, then picked up when created", async () => {
    const later = join(dir, "later");
    const e = make({ dir: later });
    const started = await e.start();
    expect(started.ok).toBe(true);
    expect(started.diagnostics.map((d) => d.severity)).toEqual(["warning"]);
    expect(e.current().stats.workloads).toBe(0);
    const pending = next(e);
    mkdirSync(later);
    writeFileSync(join(later, "claude.yaml"), allowing("a.example.com"));
    await pending;
    expect(allows(e.current(), "a.example.com")).toBe(true);
  });

  test("the directory disappearing keeps the policy in force", async () => {
    const sub = join(dir, "policies");
    mkdirSync(sub);
    writeFileSync(join(sub, "claude.yaml"), allowing("a.example.com"));
    const e = make({ dir: sub });
    await e.start();
    const pending = next(e);
    rmSync(sub, { recursive: true });
    const r = await pending;
    expect(r.kind).toBe("rejected");
    if (r.kind === "rejected") expect(r.diagnostics[0]!.message).toContain("disappeared; keeping the policy in force");
    expect(allows(e.current(), "a.example.com")).toBe(true);
  });

  test("a missing directory with a last good set starts from the last good set", async () => {
    const store = memoryStore([{ path: "/old/claude.yaml", text: allowing("lastgood.example.com") }]);
    const e = make({ dir: join(dir, "gone"), lastGood: store });
    const started = await e.start();
    expect(started).toMatchObject({ ok: false, usedLastGood: true });
    expect(started.diagnostics[0]!.message).toContain("does not exist; keeping the last good policy");
    expect(allows(e.current(), "lastgood.example.com")).toBe(true);
  });

  test("reloadNow re-reports a rejection; stop() ends reloads", async () => {
    writeFileSync(join(dir, "claude.yaml"), allowing("a.example.com"));
    const e = make();
    await e.start();
    writeFileSync(join(dir, "claude.yaml"), BROKEN);
    const errors: number[] = [];
    e.onError((d) => errors.push(d.length));
    expect((await e.reloadNow()).status).toBe("rejected");
    expect((await e.reloadNow()).status).toBe("rejected");
    expect(errors).toEqual([1, 1]);
    e.stop();
    expect((await e.reloadNow()).status).toBe("stopped");
  });

  test("start() twice is a caller error", async () => {
    const e = make();
    await e.start();
    expect(e.start()).rejects.toThrow("called twice");
  });
});
