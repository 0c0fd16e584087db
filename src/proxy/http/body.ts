/**
 * Where a message body ends, found while its bytes stream through unchanged: fixed length, chunked
 * (RFC 9112 §7.1, tracked byte by byte over the framing, with bounded size lines and trailers) or
 * until close. `onData`, when given, receives the decoded payload (used only for bounded rewrites).
 */
import { malformed } from "../errors.ts";
import type { BodyFraming } from "./head.ts";
import type { HttpLimits } from "./limits.ts";

export interface BodyTracker {
  /** How many bytes of `chunk[from..]` belong to this body (the rest is the next message). */
  consume(chunk: Uint8Array, from: number): number;
  readonly done: boolean;
}

class NoBody implements BodyTracker {
  readonly done = true;
  consume(): number {
    return 0;
  }
}
/** Stateless: one for every message without a body. */
const NO_BODY = new NoBody();

class FixedLength implements BodyTracker {
  #left: number;
  constructor(
    length: number,
    private readonly onData?: (b: Uint8Array) => void,
  ) {
    this.#left = length;
  }
  get done(): boolean {
    return this.#left === 0;
  }
  consume(chunk: Uint8Array, from: number): number {
    const n = Math.min(this.#left, chunk.length - from);
    this.#left -= n;
    if (this.onData && n > 0) this.onData(chunk.subarray(from, from + n));
    return n;
  }
}

class UntilClose implements BodyTracker {
  readonly done = false;
  constructor(private readonly onData?: (b: Uint8Array) => void) {}
  consume(chunk: Uint8Array, from: number): number {
    if (this.onData) this.onData(chunk.subarray(from));
    return chunk.length - from;
  }
}

const enum S {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  FinalLf,
  Done,
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

class Chunked implements BodyTracker {
  #s = S.Size;
  #size = 0;
  #digits = 0;
  #lineBytes = 0;
  #trailerBytes = 0;
  #left = 0;
  constructor(
    private readonly limits: HttpLimits,
    private readonly onData?: (b: Uint8Array) => void,
  ) {}
  get done(): boolean {
    return this.#s === S.Done;
  }
  consume(chunk: Uint8Array, from: number): number {
    let i = from;
    const n = chunk.length;
    while (i < n && this.#s !== S.Done) {
      if (this.#s === S.Data) {
        const take = Math.min(this.#left, n - i);
        if (this.onData) this.onData(chunk.subarray(i, i + take));
        this.#left -= take;
        i += take;
        if (this.#left === 0) this.#s = S.DataCr;
        continue;
      }
      const c = chunk[i++]!;
      switch (this.#s) {
        case S.Size: {
          const h = hexValue(c);
          if (h >= 0) {
            if (++this.#digits > 12) throw malformed("chunk size too large");
            this.#size = this.#size * 16 + h;
          } else if (this.#digits === 0) throw malformed("invalid chunk size");
          else if (c === 13) this.#s = S.SizeLf;
          else if (c === 59 || c === 32 || c === 9) this.#s = S.Ext;
          else throw malformed("invalid chunk size line");
          break;
        }
        case S.Ext:
          if (++this.#lineBytes > this.limits.maxChunkLineBytes) throw malformed("chunk extension too long");
          if (c === 13) this.#s = S.SizeLf;
          break;
        case S.SizeLf:
          if (c !== 10) throw malformed("chunk size line not ended by CRLF");
          this.#lineBytes = 0;
          this.#digits = 0;
          if (this.#size === 0) this.#s = S.TrailerStart;
          else {
            this.#left = this.#size;
            this.#size = 0;
            this.#s = S.Data;
          }
          break;
        case S.DataCr:
          if (c !== 13) throw malformed("chunk data not followed by CRLF");
          this.#s = S.DataLf;
          break;
        case S.DataLf:
          if (c !== 10) throw malformed("chunk data not followed by CRLF");
          this.#s = S.Size;
          break;
        case S.TrailerStart:
          if (c === 13) this.#s = S.FinalLf;
          else {
            this.#s = S.Trailer;
            this.#trailerBytes++;
          }
          break;
        case S.Trailer:
          if (++this.#trailerBytes > this.limits.maxTrailerBytes) throw malformed("trailer section too large");
          if (c === 13) this.#s = S.TrailerLf;
          break;
        case S.TrailerLf:
          if (c !== 10) throw malformed("trailer line not ended by CRLF");
          this.#s = S.TrailerStart;
          break;
        case S.FinalLf:
          if (c !== 10) throw malformed("chunked body not ended by CRLF");
          this.#s = S.Done;
          break;
      }
    }
    return i - from;
  }
}

export function bodyTracker(framing: BodyFraming, limits: HttpLimits, onData?: (b: Uint8Array) => void): BodyTracker {
  switch (framing.kind) {
    case "none":
      return NO_BODY;
    case "length":
      return new FixedLength(framing.length, onData);
    case "chunked":
      return new Chunked(limits, onData);
    case "close":
      return new UntilClose(onData);
  }
}
