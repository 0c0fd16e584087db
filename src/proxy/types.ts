/**
 * The seams between the proxy's data path (./) and what decides about each request (the broker's
 * injector, ../broker). The proxy owns bytes, TLS and HTTP/1.1 framing; an `Injector` sees one
 * request head at a time and says what to change. DESIGN.md §2 steps 2–4 and 8.
 */
import type { CompiledService } from "../policy/index.ts";

/** Who opened the connection, as the kernel recorded it at connect() (or SO_PEERCRED-like facts for the explicit proxy). */
export interface ConnectionOrigin {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  readonly cgroupId: bigint;
  /** SPIFFE ID of the process's workload; undefined for an unmanaged process. */
  readonly workload?: string;
  /** How the origin was learned. */
  readonly via: "kernel-redirect" | "explicit-proxy";
}

/** One proxied connection, known before the first request is read. */
export interface ConnectionContext {
  readonly id: number;
  readonly origin: ConnectionOrigin;
  /** Where the client meant to go: the original destination (redirect) or the CONNECT target. */
  readonly destination: { readonly host: string; readonly port: number };
  /** TLS server name the client asked for (intercept mode). */
  readonly sni?: string;
  /** The Service this destination belongs to (policy). */
  readonly service: CompiledService;
}

/** A request head as parsed off the wire. Header names keep their case; order is kept. */
export interface RequestHead {
  readonly method: string;
  /** Request target as sent (origin-form `/path?q`). */
  readonly target: string;
  readonly version: "HTTP/1.1" | "HTTP/1.0";
  readonly headers: readonly (readonly [name: string, value: string])[];
}

export type InjectionDecision =
  /** Forward upstream, after removing then setting these headers (names case-insensitive). */
  | {
      readonly kind: "forward";
      readonly removeHeaders?: readonly string[];
      readonly setHeaders?: readonly (readonly [string, string])[];
      /** A short label for audit/metrics: "injected", "passed", "rewritten"… */
      readonly label: string;
    }
  /** Answer the client directly (403 for a stolen token, 401 challenge to restart the flow…). */
  | {
      readonly kind: "respond";
      readonly status: number;
      readonly headers?: readonly (readonly [string, string])[];
      readonly body?: string;
      readonly label: string;
    };

/** Decides per request. May be async (a token refresh in flight); the proxy keeps the connection's order. */
export interface Injector {
  decide(connection: ConnectionContext, head: RequestHead): InjectionDecision | Promise<InjectionDecision>;
}

/** A response head the proxy may let a rewriter change (discovery rewrite, DESIGN.md §2 step 4). */
export interface ResponseHead {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly (readonly [name: string, value: string])[];
}

/**
 * Rewrites RFC 9728 protected resource metadata bodies and 401 `WWW-Authenticate` challenges so
 * the agent runs its OAuth flow against sluice. Consulted only for responses it claims.
 */
export interface ResponseRewriter {
  /** Whether this response (to this request) should be rewritten; if so the proxy buffers its body (bounded). */
  wants(connection: ConnectionContext, request: RequestHead, response: ResponseHead): boolean;
  rewrite(connection: ConnectionContext, request: RequestHead, response: ResponseHead, body: Uint8Array): { head: ResponseHead; body: Uint8Array };
}
