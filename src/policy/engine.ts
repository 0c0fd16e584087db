/**
 * PolicyEngine: loads the policy directory, watches it, and swaps the snapshot in force atomically
 * (one reference) when a new set compiles. An invalid set is never applied and never widens access:
 * the last good snapshot stays, error subscribers hear why. Modelled on Caddy's changeConfig:
 * identical input → nothing; build fully; only then swap.
 */
import { SluiceError } from "../errors/index.ts";
import { diagnostic, formatDiagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../schema/index.ts";
import { buildPolicy, type BuildOptions } from "./build.ts";
import { PolicyParseCache } from "./cache.ts";
import { compilePolicy } from "./compile/compile.ts";
import { hashPolicySources } from "./compile/hash.ts";
import type { PolicySnapshot } from "./compile/snapshot.ts";
import { readPolicyDir, TRANSIENT_CODES } from "./load.ts";
import type { PolicySourceFile } from "./types.ts";
import { DirWatcher } from "./watch.ts";
import type { PolicyEngineOptions, PolicyErrorSubscriber, PolicyStartResult, PolicySubscriber, ReloadResult } from "./engine-types.ts";

const MAX_TRANSIENT_RETRIES = 5;

export class PolicyEngine {
  readonly #o: Required<Pick<PolicyEngineOptions, "debounceMs" | "pollMs">> & PolicyEngineOptions;
  #snapshot: PolicySnapshot | undefined;
  #generation = 0;
  #appliedHash: string | undefined;
  #rejected: { key: string; diagnostics: readonly Diagnostic[] } | undefined;
  readonly #subscribers = new Set<PolicySubscriber>();
  readonly #errorSubscribers = new Set<PolicyErrorSubscriber>();
  readonly #cache = new PolicyParseCache();
  #chain: Promise<unknown> = Promise.resolve();
  #watcher: DirWatcher | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #retries = 0;
  #started = false;
  #stopped = false;

  constructor(options: PolicyEngineOptions) {
    this.#o = { debounceMs: 100, pollMs: 1000, ...options };
  }

  /** Load the directory (falling back to the last good set), then watch it. */
  async start(): Promise<PolicyStartResult> {
    if (this.#started) throw new SluiceError("ERR_POLICY_ENGINE", "PolicyEngine.start() called twice");
    this.#started = true;
    // Watch first: a change landing during the initial load is then seen, not lost.
    this.#watcher = new DirWatcher(this.#o.dir, this.#o.pollMs, () => this.#schedule(), this.#o.logger);
    return this.#initialLoad();
  }

  /** The snapshot in force. Throws when start() found no valid policy and acceptEmpty() was not called. */
  current(): PolicySnapshot {
    if (!this.#snapshot) throw new SluiceError("ERR_POLICY_NOT_LOADED", "no valid policy is loaded (the policy directory is invalid and there is no last good policy)");
    return this.#snapshot;
  }

  /** After an invalid start: run with an empty policy (nothing managed) until the directory is fixed. */
  acceptEmpty(): PolicySnapshot {
    if (this.#snapshot) return this.#snapshot;
    const empty = compilePolicy([], { trustDomain: this.#o.trustDomain, generation: this.#generation + 1, hash: hashPolicySources([], this.#o.trustDomain), files: 0 });
    this.#swap(empty, undefined);
    return empty;
  }

  /** Called with (snapshot, previous) after every swap. Returns an unsubscribe function. */
  subscribe(fn: PolicySubscriber): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** Called with all diagnostics when a changed set is rejected (the old snapshot stays). */
  onError(fn: PolicyErrorSubscriber): () => void {
    this.#errorSubscribers.add(fn);
    return () => this.#errorSubscribers.delete(fn);
  }

  /** Reload now (after any reload in progress); re-reports a rejection even when nothing changed. */
  reloadNow(): Promise<ReloadResult> {
    return this.#enqueue(true);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #initialLoad(): PolicyStartResult {
    const { dir } = this.#o;
    const read = readPolicyDir(dir, this.#o.loadLimits);
    const lastGood = this.#loadLastGood();
    if (read.missing && lastGood && lastGood.length > 0) {
      const why = diagnostic("error", { file: dir, line: 1, col: 1 }, `policy directory ${dir} does not exist; keeping the last good policy (${lastGood.length} file(s)); create the directory, even empty, to replace it`, "policy.dir-missing");
      return this.#startFromLastGood(lastGood, [why]);
    }
    const built = buildPolicy(read.files, this.#buildOptions(1));
    const diagnostics = sortDiagnostics([...read.diagnostics, ...built.diagnostics]);
    if (built.snapshot && !hasErrors(diagnostics)) {
      this.#swap(built.snapshot, read.missing ? undefined : read.files);
      return { ok: true, usedLastGood: false, snapshot: built.snapshot, diagnostics };
    }
    this.#rejected = { key: rejectionKey(built.hash, read.diagnostics), diagnostics };
    if (lastGood) return this.#startFromLastGood(lastGood, diagnostics);
    return { ok: false, usedLastGood: false, diagnostics };
  }

  #startFromLastGood(files: PolicySourceFile[], diagnostics: readonly Diagnostic[]): PolicyStartResult {
    const built = buildPolicy(files, { ...this.#buildOptions(1), cache: new PolicyParseCache() });
    if (!built.snapshot) {
      this.#o.logger.error("the last good policy no longer compiles (trust domain changed?); not using it", { errors: built.diagnostics.filter((d) => d.severity === "error").slice(0, 3).map(formatDiagnostic) });
      return { ok: false, usedLastGood: false, diagnostics };
    }
    this.#swap(built.snapshot, undefined);
    return { ok: false, usedLastGood: true, snapshot: built.snapshot, diagnostics };
  }

  #loadLastGood(): PolicySourceFile[] | undefined {
    try {
      return this.#o.lastGood?.load();
    } catch (err) {
      this.#o.logger.error("cannot read the last good policy", { error: err });
      return undefined;
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.#enqueue(false);
    }, this.#o.debounceMs);
  }

  #enqueue(forced: boolean): Promise<ReloadResult> {
    const run = this.#chain.then(() => this.#reloadOnce(forced));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #reloadOnce(forced: boolean): ReloadResult {
    if (this.#stopped) return { status: "stopped", diagnostics: [] };
    try {
      return this.#reload(forced);
    } catch (err) {
      // A bug in validation or compilation must not take the daemon down or change what is enforced.
      this.#o.logger.error("policy reload failed unexpectedly; keeping the policy in force", { error: err });
      const d = diagnostic("error", { file: this.#o.dir, line: 1, col: 1 }, `internal error while loading the policy: ${(err as Error).message}`, "policy.internal");
      this.#notifyError([d]);
      return { status: "rejected", ...this.#current(), diagnostics: [d] };
    }
  }

  #reload(forced: boolean): ReloadResult {
    const { dir, trustDomain, logger } = this.#o;
    const read = readPolicyDir(dir, this.#o.loadLimits);
    if (read.missing && this.#snapshot) {
      const d = diagnostic("error", { file: dir, line: 1, col: 1 }, `policy directory ${dir} disappeared; keeping the policy in force (create the directory, even empty, to apply an empty policy)`, "policy.dir-missing");
      return this.#reject(rejectionKey("missing", []), [d], forced);
    }
    const hash = hashPolicySources(read.files, trustDomain);
    if (!hasErrors(read.diagnostics) && hash === this.#appliedHash) {
      this.#rejected = undefined;
      return { status: "unchanged", ...this.#current(), diagnostics: read.diagnostics };
    }
    const key = rejectionKey(hash, read.diagnostics);
    if (!forced && this.#rejected?.key === key) return { status: "rejected", ...this.#current(), diagnostics: this.#rejected.diagnostics };
    const built = buildPolicy(read.files, this.#buildOptions(this.#generation + 1));
    const diagnostics = sortDiagnostics([...read.diagnostics, ...built.diagnostics]);
    if (!built.snapshot || hasErrors(diagnostics)) return this.#reject(key, diagnostics, forced);
    this.#rejected = undefined;
    this.#retries = 0;
    const previous = this.#snapshot;
    this.#swap(built.snapshot, read.missing ? undefined : read.files);
    logger.debug("policy applied", { generation: built.snapshot.generation, hash: built.snapshot.hash, ...built.snapshot.stats });
    return { status: "applied", snapshot: built.snapshot, ...(previous ? { previous } : {}), diagnostics };
  }

  #reject(key: string, diagnostics: readonly Diagnostic[], forced: boolean): ReloadResult {
    const repeated = this.#rejected?.key === key;
    this.#rejected = { key, diagnostics };
    if (!repeated || forced) {
      this.#o.logger.debug("policy rejected; keeping the policy in force", { generation: this.#snapshot?.generation, errors: diagnostics.filter((d) => d.severity === "error").length });
      this.#notifyError(diagnostics);
    }
    if (diagnostics.some((d) => TRANSIENT_CODES.has(d.code)) && this.#retries++ < MAX_TRANSIENT_RETRIES) this.#schedule();
    return { status: "rejected", ...this.#current(), diagnostics };
  }

  #buildOptions(generation: number): BuildOptions {
    return { trustDomain: this.#o.trustDomain, generation, cache: this.#cache, ...(this.#o.limits ? { limits: this.#o.limits } : {}) };
  }

  #current(): { snapshot?: PolicySnapshot } {
    return this.#snapshot ? { snapshot: this.#snapshot } : {};
  }

  /** The one place the snapshot in force changes. */
  #swap(snapshot: PolicySnapshot, files: readonly PolicySourceFile[] | undefined): void {
    const previous = this.#snapshot;
    this.#snapshot = snapshot;
    this.#generation = snapshot.generation;
    this.#appliedHash = snapshot.hash;
    if (files && this.#o.lastGood) {
      try {
        this.#o.lastGood.save(files.map((f) => ({ path: f.path, text: f.text })));
      } catch (err) {
        this.#o.logger.error("cannot save the last good policy", { error: err });
      }
    }
    for (const fn of [...this.#subscribers]) {
      try {
        fn(snapshot, previous);
      } catch (err) {
        this.#o.logger.error("policy subscriber failed", { error: err, generation: snapshot.generation });
      }
    }
  }

  #notifyError(diagnostics: readonly Diagnostic[]): void {
    for (const fn of [...this.#errorSubscribers]) {
      try {
        fn(diagnostics);
      } catch (err) {
        this.#o.logger.error("policy error subscriber failed", { error: err });
      }
    }
  }
}

function rejectionKey(hash: string, readDiagnostics: readonly Diagnostic[]): string {
  return `${hash}\n${readDiagnostics.map(formatDiagnostic).join("\n")}`;
}
