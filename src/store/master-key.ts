import { createHmac, createSecretKey, hkdfSync, randomBytes, type KeyObject } from "node:crypto";
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, linkSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { errnoCode } from "../errors/index.ts";
import { StoreError } from "./errors.ts";

export const MASTER_KEY_BYTES = 32;
const HKDF_SALT = "sluice master key v1";
const PURPOSE = /^[a-z0-9][a-z0-9._:-]{0,63}$/;

/**
 * The 32-byte root secret. The bytes live only inside a KeyObject (which never prints its
 * contents); everything else uses HKDF-SHA256 subkeys, one per purpose, so a leaked or misused
 * subkey says nothing about the master key or its siblings.
 */
export class MasterKey {
  readonly #key: KeyObject;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== MASTER_KEY_BYTES) throw new TypeError(`master key must be ${MASTER_KEY_BYTES} bytes`);
    this.#key = createSecretKey(bytes);
  }

  /** A 32-byte subkey for `info` (a namespaced purpose such as `seal:broker-tokens`). */
  derive(info: string): KeyObject {
    if (!PURPOSE.test(info)) throw new TypeError(`invalid key purpose ${JSON.stringify(info)}`);
    const bytes = Buffer.from(hkdfSync("sha256", this.#key, HKDF_SALT, info, 32));
    try {
      return createSecretKey(bytes);
    } finally {
      bytes.fill(0);
    }
  }

  /** A public fingerprint stored in the database, to notice a master.key swapped for another one. */
  checkValue(): string {
    return createHmac("sha256", this.derive("store:key-check")).update("sluice").digest("hex").slice(0, 32);
  }

  toJSON(): string {
    return "[MasterKey]";
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[MasterKey]";
  }
}

/**
 * Read `<dataDir>/master.key`, refusing anything readable by others, owned by someone else or of
 * the wrong size. Returns undefined when the file does not exist.
 */
export function loadMasterKey(path: string): MasterKey | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw new StoreError("ERR_MASTER_KEY_INVALID", `cannot read master key ${path}: ${(err as Error).message}`, { cause: err });
  }
  const bytes = Buffer.alloc(MASTER_KEY_BYTES + 1);
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.() ?? st.uid;
    if (!st.isFile()) {
      throw new StoreError("ERR_MASTER_KEY_INVALID", `master key ${path} is not a regular file`);
    }
    if (st.uid !== uid) {
      throw new StoreError(
        "ERR_MASTER_KEY_MODE",
        `master key ${path} is owned by uid ${st.uid}, not by uid ${uid} running sluice: chown ${uid} ${path}`,
      );
    }
    if ((st.mode & 0o077) !== 0) {
      throw new StoreError(
        "ERR_MASTER_KEY_MODE",
        `master key ${path} has mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}, readable by other users: chmod 600 ${path} (and consider rotating secrets if others could read it)`,
      );
    }
    const n = readSync(fd, bytes, 0, bytes.length, 0);
    if (n !== MASTER_KEY_BYTES || st.size !== MASTER_KEY_BYTES) {
      throw new StoreError(
        "ERR_MASTER_KEY_INVALID",
        `master key ${path} is ${st.size} bytes, expected ${MASTER_KEY_BYTES}: restore it from a backup (sluice never regenerates an existing key)`,
      );
    }
    return new MasterKey(bytes.subarray(0, MASTER_KEY_BYTES));
  } finally {
    bytes.fill(0);
    closeSync(fd);
  }
}

/**
 * Create a fresh key without ever exposing a partial file: write a temporary file
 * (O_CREAT|O_EXCL, 0600), fsync it, then link(2) it into place, which fails if a key appeared meanwhile.
 */
export function createMasterKey(path: string): MasterKey {
  const tmp = `${path}.${process.pid}.tmp`;
  const bytes = randomBytes(MASTER_KEY_BYTES);
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      fchmodSync(fd, 0o600); // independent of the umask
      writeSync(fd, bytes, 0, bytes.length, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    syncDir(dirname(path));
    return new MasterKey(bytes);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError("ERR_MASTER_KEY_INVALID", `cannot create master key ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    bytes.fill(0);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already gone
    }
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
