import { Elysia } from "elysia";
import type { Logger } from "../log/index.ts";

/** Limits on every HTTP input (DESIGN.md §6). */
export const HTTP_LIMITS = {
  maxRequestBodyBytes: 1 << 20,
  idleTimeoutSeconds: 30,
} as const;

/**
 * A part of sluice that serves HTTP routes (the AS, the bundle endpoint, login pages…) mounts them
 * through one of these; the server composes them in order.
 */
export interface RouteModule {
  readonly name: string;
  mount(app: Elysia): void;
}

export interface HttpAppOptions {
  readonly logger: Logger;
  readonly modules: readonly RouteModule[];
}

/**
 * The Elysia app: JSON errors without stack traces (the detail goes to the log), not-found and
 * body-size errors with their own status, then each module's routes.
 */
export function createHttpApp({ logger, modules }: HttpAppOptions): Elysia {
  const app = new Elysia({ serve: { maxRequestBodySize: HTTP_LIMITS.maxRequestBodyBytes, idleTimeout: HTTP_LIMITS.idleTimeoutSeconds } });
  app.onError(({ code, error, request, set }) => {
    const status = statusFor(code);
    set.status = status;
    if (status >= 500) {
      logger.error("http handler failed", { method: request.method, path: new URL(request.url).pathname, error });
      return { error: "server_error", message: "internal error; see the sluice log" };
    }
    return { error: String(code).toLowerCase(), message: publicMessage(code, error) };
  });
  for (const module of modules) module.mount(app);
  return app;
}

function statusFor(code: string | number): number {
  switch (code) {
    case "NOT_FOUND":
      return 404;
    case "VALIDATION":
    case "PARSE":
    case "INVALID_COOKIE_SIGNATURE":
      return 400;
    default:
      return typeof code === "number" ? code : 500;
  }
}

function publicMessage(code: string | number, error: unknown): string {
  if (code === "NOT_FOUND") return "no such endpoint";
  if (code === "PARSE") return "malformed request body";
  return error instanceof Error ? error.message.slice(0, 200) : "bad request";
}
