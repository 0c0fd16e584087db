import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { StoreError } from "./errors.ts";
import { EWOULDBLOCK, getLibc, LOCK_EX, LOCK_NB } from "./libc.ts";

export interface StoreLock {
  readonly path: string;
  release(): void;
}

/**
 * Take an exclusive flock(2) on `path` (created 0600) and write our pid into it.
 * The kernel drops the lock when the fd closes, so a crashed sluice never leaves a stale lock;
 * the file itself stays (unlinking lock files races with the next locker).
 */
export function acquireLock(path: string, dataDir: string): StoreLock {
  let fd: number;
  try {
    // No O_TRUNC: the pid inside belongs to the holder until we own the lock. Bun opens with O_CLOEXEC,
    // so children we spawn never inherit (and keep alive) the lock.
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw new StoreError("ERR_STORE_LOCK_FAILED", `cannot open lock file ${path}: ${(err as Error).message}`, { cause: err });
  }

  let libc: ReturnType<typeof getLibc>;
  try {
    libc = getLibc();
  } catch (err) {
    closeSync(fd);
    throw new StoreError("ERR_STORE_LOCK_FAILED", `cannot load libc.so.6 for flock(2): ${(err as Error).message}`, { cause: err });
  }

  if (libc.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const errno = libc.errno();
    closeSync(fd);
    if (errno === EWOULDBLOCK) {
      const holder = readHolderPid(path);
      const who = holder === undefined ? "pid unknown" : holder === process.pid ? `pid ${holder}, this process` : `pid ${holder}`;
      throw new StoreError("ERR_STORE_LOCKED", `data dir ${dataDir} is in use by another sluice (${who}); stop it first`);
    }
    throw new StoreError("ERR_STORE_LOCK_FAILED", `flock(${path}) failed with errno ${errno}`);
  }

  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);

  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        ftruncateSync(fd, 0); // still ours: nobody reads a stale pid
      } finally {
        closeSync(fd);
      }
    },
  };
}

function readHolderPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
