/** Bounds on everything the proxy reads (DESIGN §6: every HTTP input is bounded). */
export interface HttpLimits {
  /** Bytes of a request or response head, CRLFCRLF included. */
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  /** Bytes of one chunk-size line (with extensions) and of all trailers. */
  readonly maxChunkLineBytes: number;
  readonly maxTrailerBytes: number;
  /** Seconds an idle keep-alive connection, or a partly received request head, may wait. */
  readonly idleTimeoutSeconds: number;
  /** Seconds to wait for the upstream's response head. */
  readonly responseHeadTimeoutSeconds: number;
  /** Bytes of a response body a rewriter may buffer. */
  readonly maxRewriteBodyBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  maxHeadBytes: 64 * 1024,
  maxHeaders: 128,
  maxChunkLineBytes: 4096,
  maxTrailerBytes: 16 * 1024,
  idleTimeoutSeconds: 120,
  responseHeadTimeoutSeconds: 120,
  maxRewriteBodyBytes: 1024 * 1024,
});
