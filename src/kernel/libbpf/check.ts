/**
 * Turning libbpf's two failure conventions into KernelErrors: int calls return -errno; pointer
 * calls return NULL and leave the reason in errno, which must be read before anything else runs.
 */
import type { Pointer } from "bun:ffi";
import { KernelError, type KernelErrorCode } from "../errors.ts";
import { lastErrno } from "./libc.ts";
import { loadLibbpf } from "./load.ts";

export interface CallContext {
  /** What the call was about, shown in the message: a map, program or path name. */
  subject?: string;
  hint?: string;
  log?: readonly string[];
}

function describe(errno: number): string | undefined {
  return loadLibbpf().strerror(errno);
}

/** An int result: returned as is when ≥ 0, a KernelError when negative (-errno). */
export function checkInt(code: KernelErrorCode, call: string, rc: number, ctx: CallContext = {}): number {
  if (rc >= 0) return rc;
  throw KernelError.fromErrno(code, call, rc, { ...ctx, describe });
}

/** A pointer result: returned when non-NULL, else a KernelError from errno (read first thing). */
export function checkPtr(code: KernelErrorCode, call: string, p: Pointer | bigint | null, ctx: CallContext = {}): Pointer {
  if (p !== null && p !== 0 && p !== 0n) return (typeof p === "bigint" ? Number(p) : p) as Pointer;
  const errno = lastErrno() || 22; // EINVAL if libbpf left errno unset
  throw KernelError.fromErrno(code, call, errno, { ...ctx, describe });
}

/** A possibly-NULL pointer (lookups by name, iteration) without an error. */
export function optionalPtr(p: Pointer | bigint | null): Pointer | undefined {
  if (p === null || p === 0 || p === 0n) return undefined;
  return (typeof p === "bigint" ? Number(p) : p) as Pointer;
}
