/**
 * Secret values named by a `SecretRef` (`{file}` or `{env}`): files are re-read when they change
 * (inode, size or mtime) and refused when world-readable; a trailing newline is dropped.
 */
import { readFileSync, statSync } from "node:fs";
import type { SecretRef } from "../policy/index.ts";
import { BrokerError } from "./errors.ts";

export const MAX_SECRET_BYTES = 64 * 1024;

export class SecretReader {
  readonly #files = new Map<string, { ino: number; size: number; mtimeMs: number; value: string }>();

  constructor(private readonly env: Readonly<Record<string, string | undefined>> = process.env) {}

  read(ref: SecretRef): string {
    return ref.type === "env" ? this.#env(ref.name) : this.#file(ref.path);
  }

  #env(name: string): string {
    const value = this.env[name];
    if (value === undefined || value.length === 0) throw new BrokerError("ERR_BROKER_SECRET", `environment variable ${name} (a credential source's secret) is not set`);
    if (value.length > MAX_SECRET_BYTES) throw new BrokerError("ERR_BROKER_SECRET", `environment variable ${name} is larger than ${MAX_SECRET_BYTES} bytes`);
    return value;
  }

  #file(path: string): string {
    let st;
    try {
      st = statSync(path);
    } catch (err) {
      throw new BrokerError("ERR_BROKER_SECRET", `cannot read secret file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, undefined, { cause: err });
    }
    if (!st.isFile()) throw new BrokerError("ERR_BROKER_SECRET", `secret file ${path} is not a regular file`);
    if ((st.mode & 0o004) !== 0) {
      throw new BrokerError("ERR_BROKER_SECRET", `secret file ${path} is world-readable (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); run: chmod 600 ${path}`);
    }
    if (st.size > MAX_SECRET_BYTES) throw new BrokerError("ERR_BROKER_SECRET", `secret file ${path} is larger than ${MAX_SECRET_BYTES} bytes`);
    const cached = this.#files.get(path);
    if (cached && cached.ino === st.ino && cached.size === st.size && cached.mtimeMs === st.mtimeMs) return cached.value;
    const value = readFileSync(path, "utf8").replace(/\r?\n$/, "");
    if (value.length === 0) throw new BrokerError("ERR_BROKER_SECRET", `secret file ${path} is empty`);
    if (/[\r\n\0]/.test(value)) throw new BrokerError("ERR_BROKER_SECRET", `secret file ${path} holds more than one line (a header value cannot contain line breaks)`);
    this.#files.set(path, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, value });
    return value;
  }
}
