/**
 * The Workload Endpoint's unix socket (SPIFFE Workload Endpoint §3: UDS preferred, no TLS).
 *
 * - The parent directory is created 0755 when missing (an existing one is left as the operator made it).
 * - An existing socket file is removed only when nothing accepts on it (a stale one from a crash);
 *   a live one means another sluice is serving: refuse. Anything that is not a socket is never removed.
 * - The socket is chmod 0666: any local process may connect, because the access decision is the
 *   attestation of the caller (SO_PEERCRED), not the file mode.
 * - On close the file is unlinked only if it is still the one this listener created.
 */
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname, isAbsolute } from "node:path";
import { SluiceError, errnoCode } from "../../../errors/index.ts";
import type { Logger } from "../../../log/index.ts";

/** sockaddr_un.sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

export class WorkloadSocketError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_WORKLOAD_SOCKET", message, options);
  }
}

export interface UnixListener {
  readonly path: string;
  close(): Promise<void>;
}

export async function listenUnix(path: string, onConnection: (socket: Socket) => void, logger: Logger): Promise<UnixListener> {
  if (!isAbsolute(path)) throw new WorkloadSocketError(`workloadSocket must be an absolute path, got ${JSON.stringify(path)}`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new WorkloadSocketError(`workloadSocket ${path} is ${Buffer.byteLength(path)} bytes; unix socket paths are limited to ${MAX_SOCKET_PATH_BYTES}`);
  }
  ensureParentDir(path, logger);
  await removeStaleSocket(path, logger);

  const server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new WorkloadSocketError(`listening on ${path}: ${err.message}`, { cause: err })));
    server.listen(path, () => resolve());
  });
  let ino: number;
  try {
    chmodSync(path, 0o666);
    ino = statSync(path).ino;
  } catch (err) {
    server.close();
    throw new WorkloadSocketError(`setting the mode of ${path}: ${(err as Error).message}`, { cause: err });
  }
  server.on("error", (err) => logger.error("workload socket error", { path, err }));

  let closing: Promise<void> | undefined;
  return {
    path,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Unlink now so no new client connects while open connections drain.
        unlinkIfOurs(path, ino, logger);
      });
      return closing;
    },
  };
}

function ensureParentDir(path: string, logger: Logger): void {
  const dir = dirname(path);
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) throw new WorkloadSocketError(`the parent of workloadSocket, ${dir}, is not a directory`);
    if ((st.mode & 0o001) === 0) logger.warn("other users cannot reach the workload socket: its directory is not searchable by others", { dir, mode: (st.mode & 0o777).toString(8) });
    return;
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err instanceof WorkloadSocketError ? err : new WorkloadSocketError(`checking ${dir}: ${(err as Error).message}`, { cause: err });
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755); // mkdir's mode is filtered by the umask
  logger.info("created workload socket directory", { dir });
}

async function removeStaleSocket(path: string, logger: Logger): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return;
    throw new WorkloadSocketError(`checking ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!st.isSocket()) throw new WorkloadSocketError(`${path} exists and is not a socket; refusing to replace it (remove it or choose another workloadSocket)`);
  const live = await isAccepting(path);
  if (live) throw new WorkloadSocketError(`another process is already serving on ${path} (is another "sluice serve" running?)`);
  unlinkSync(path);
  logger.info("removed stale workload socket", { path });
}

/** true if something accepts connections on the socket; false for a stale file (ECONNREFUSED). */
function isAccepting(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createConnection(path);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(true); // a listener with a full backlog is still a listener
    }, 1000);
    probe.once("connect", () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once("error", (err) => {
      clearTimeout(timer);
      const code = errnoCode(err);
      if (code === "ECONNREFUSED" || code === "ENOENT") resolve(false);
      else reject(new WorkloadSocketError(`probing ${path}: ${err.message}`, { cause: err }));
    });
  });
}

function unlinkIfOurs(path: string, ino: number, logger: Logger): void {
  try {
    const st = lstatSync(path);
    if (st.isSocket() && st.ino === ino) unlinkSync(path);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") logger.warn("could not remove the workload socket", { path, err });
  }
}
