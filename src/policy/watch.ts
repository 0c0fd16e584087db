/**
 * Directory change detection: `fs.watch` for promptness plus a cheap poll of names, sizes, mtimes
 * and inodes for what watch misses (editors that rename/replace, a directory that does not exist
 * yet, a directory swapped behind a symlink). Calls `onChange` (debounced by the caller).
 */
import { readdirSync, statSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../errors/index.ts";
import type { Logger } from "../log/index.ts";
import { isPolicyFileName } from "./load.ts";

export class DirWatcher {
  #watcher: FSWatcher | undefined;
  #watchedIno: number | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #signature: string;
  #closed = false;

  constructor(
    private readonly dir: string,
    private readonly pollMs: number,
    private readonly onChange: () => void,
    private readonly logger: Logger,
  ) {
    this.#signature = this.signature();
    this.#ensureWatch();
    this.#poll = setInterval(() => this.#tick(), pollMs);
    this.#poll.unref?.();
  }

  /** Names, sizes, mtimes and inodes of the policy files, and the directory's own inode. */
  signature(): string {
    try {
      const dirIno = statSync(this.dir).ino;
      const parts = [`dir:${dirIno}`];
      for (const name of readdirSync(this.dir).filter(isPolicyFileName).sort()) {
        try {
          const st = statSync(join(this.dir, name));
          parts.push(`${name}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`);
        } catch (err) {
          parts.push(`${name}:${errnoCode(err) ?? "error"}`);
        }
      }
      return parts.join("\n");
    } catch (err) {
      return `unreadable:${errnoCode(err) ?? "error"}`;
    }
  }

  #tick(): void {
    if (this.#closed) return;
    this.#ensureWatch();
    const sig = this.signature();
    if (sig !== this.#signature) {
      this.#signature = sig;
      this.onChange();
    }
  }

  #ensureWatch(): void {
    let ino: number;
    try {
      ino = statSync(this.dir).ino;
    } catch {
      this.#closeWatch();
      return;
    }
    if (this.#watcher && this.#watchedIno === ino) return;
    this.#closeWatch();
    try {
      const w = watch(this.dir, { persistent: false }, () => this.onChange());
      w.on("error", (err) => {
        this.logger.debug("policy dir watch ended; polling until it can be watched again", { dir: this.dir, error: err });
        if (this.#watcher === w) this.#closeWatch();
        this.onChange();
      });
      this.#watcher = w;
      this.#watchedIno = ino;
    } catch (err) {
      this.logger.debug("cannot watch policy dir; polling", { dir: this.dir, error: err });
    }
  }

  #closeWatch(): void {
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
    this.#watcher = undefined;
    this.#watchedIno = undefined;
  }

  close(): void {
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    this.#closeWatch();
  }
}
