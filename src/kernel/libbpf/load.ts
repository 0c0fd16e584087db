/**
 * Loads the vendored libbpf shared object (vendor/libbpf/libsluice-bpf.so, see
 * scripts/build-libbpf.sh) once per process:
 *   - compiled binary: the .so is embedded; its bytes go into a memfd and libbpf is dlopened as
 *     /proc/self/fd/N, so nothing is written to disk and nothing is needed on the host but libc;
 *     a host whose memfds cannot be executed falls back to a private 0700 temp directory;
 *   - from source: the vendored file is dlopened where it is.
 * libbpf's log is routed to sluice's Logger as soon as it is loaded (print.ts). That callback is
 * process-wide and bound to the JS thread that installed it, so libbpf is used from the main
 * thread only: a Worker calling into it would hang the process when libbpf logs.
 */
import { dlopen, ptr } from "bun:ffi";
import { closeSync, mkdtempSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { isMainThread } from "node:worker_threads";
import { join } from "node:path";
import { assetPath, isCompiledBinary, readAssetBytes } from "../../assets/index.ts";
import { KernelError } from "../errors.ts";
import { errnoName, EINVAL } from "./errno.ts";
import { cString, lastErrno, libc, MFD_CLOEXEC, MFD_EXEC } from "./libc.ts";
import { installPrint } from "./print.ts";
import { LIBBPF_SYMBOLS, type LibbpfSymbols } from "./symbols.ts";

/** The asset name (catalog.ts) of the shared object. */
export const LIBBPF_ASSET = "vendor/libbpf/libsluice-bpf.so";

export interface Libbpf {
  readonly sym: LibbpfSymbols;
  /** How it was loaded: `memfd` (compiled binary), `file` (from source) or `tmpfile` (memfd not executable). */
  readonly via: "memfd" | "file" | "tmpfile";
  /** The path given to dlopen. */
  readonly path: string;
  readonly version: { readonly major: number; readonly minor: number };
  /** Number of possible CPUs (per-CPU map values hold one slot each). */
  readonly possibleCpus: number;
  /** libbpf_strerror: knows errno and LIBBPF_ERRNO__* codes. */
  strerror(errno: number): string;
}

let loaded: Libbpf | undefined;

export function loadLibbpf(): Libbpf {
  if (loaded) return loaded;
  if (!isMainThread) throw new TypeError("libbpf is used from the main thread only (its log callback is bound to it); do BPF calls there");
  loaded = open();
  return loaded;
}

function open(): Libbpf {
  const { sym, via, path } = isCompiledBinary() ? openEmbedded() : openFile(assetPath(LIBBPF_ASSET));
  installPrint(sym);
  const errBuf = new Uint8Array(256);
  const cpus = sym.libbpf_num_possible_cpus();
  if (cpus <= 0) throw KernelError.fromErrno("ERR_BPF_LIBRARY", "libbpf_num_possible_cpus", cpus);
  return {
    sym,
    via,
    path,
    version: { major: sym.libbpf_major_version(), minor: sym.libbpf_minor_version() },
    possibleCpus: cpus,
    strerror(errno) {
      if (sym.libbpf_strerror(Math.abs(errno), ptr(errBuf), errBuf.length) < 0) return errnoName(errno);
      const end = errBuf.indexOf(0);
      return new TextDecoder().decode(errBuf.subarray(0, end < 0 ? errBuf.length : end));
    },
  };
}

function openFile(path: string, via: Libbpf["via"] = "file"): { sym: LibbpfSymbols; via: Libbpf["via"]; path: string } {
  try {
    return { sym: dlopen(path, LIBBPF_SYMBOLS).symbols, via, path };
  } catch (err) {
    throw new KernelError("ERR_BPF_LIBRARY", "dlopen", `cannot load libbpf from ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** The embedded bytes → memfd → dlopen("/proc/self/fd/N"); the fd is closed once the library is mapped. */
function openEmbedded(): { sym: LibbpfSymbols; via: Libbpf["via"]; path: string } {
  const bytes = readAssetBytes(LIBBPF_ASSET);
  const fd = memfdCreate("sluice-libbpf");
  if (fd < 0) return openFromTempDir(bytes, -fd);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    return openFile(`/proc/self/fd/${fd}`, "memfd");
  } catch (err) {
    // Some hardened hosts map memfds noexec: the temp-directory route still works there.
    if (err instanceof KernelError) return openFromTempDir(bytes, undefined, err);
    throw err;
  } finally {
    closeSync(fd);
  }
}

/** memfd_create with MFD_EXEC where the kernel knows it (≥ 6.3), without on older ones; -errno on failure. */
function memfdCreate(name: string): number {
  const nameC = cString(name);
  let fd = libc().memfd_create(nameC, MFD_CLOEXEC | MFD_EXEC);
  if (fd < 0 && lastErrno() === EINVAL) fd = libc().memfd_create(nameC, MFD_CLOEXEC);
  return fd < 0 ? -lastErrno() : fd;
}

function openFromTempDir(bytes: Uint8Array, memfdErrno?: number, dlopenError?: KernelError): { sym: LibbpfSymbols; via: Libbpf["via"]; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "sluice-libbpf-"));
  const file = join(dir, "libsluice-bpf.so");
  try {
    writeFileSync(file, bytes, { mode: 0o500 });
    return openFile(file, "tmpfile");
  } catch (err) {
    const why = memfdErrno !== undefined ? `memfd_create: ${errnoName(memfdErrno)}` : (dlopenError?.message ?? "memfd not usable");
    const detail = err instanceof Error ? err.message : String(err);
    throw new KernelError("ERR_BPF_LIBRARY", "dlopen", `cannot load the embedded libbpf (${why}; temp file: ${detail})`, { cause: err });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
