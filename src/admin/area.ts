/**
 * An admin area: the operations one part of sluice (users, clients, broker) offers to the CLI.
 * The CLI runs an area's operations straight on the store when serve is stopped, or sends the same
 * request over serve's admin socket when serve holds the store: one code path either way.
 */
import { SluiceError } from "../errors/index.ts";

export interface AdminArea<Request = unknown> {
  /** The URL segment: requests go to `POST /v1/<name>` on the socket. */
  readonly name: string;
  /** Checks a request received as JSON; throws AdminError (or the part's SluiceError) on bad input. */
  parse(value: unknown): Request;
  /** Runs one checked request; the result is sent back as JSON. */
  run(request: Request): unknown;
}

/** An admin request that cannot be run as asked (bad input, unknown operation, refused token). */
export class AdminError extends SluiceError {}

export function unknownOperation(op: unknown): AdminError {
  return new AdminError("ERR_ADMIN_OP", `unknown operation ${JSON.stringify(String(op).slice(0, 40))}`);
}

/** The request as an object with an `op`, or ERR_ADMIN_REQUEST. */
export function requestObject(value: unknown): Record<string, unknown> & { op?: unknown } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new AdminError("ERR_ADMIN_REQUEST", "the request must be a JSON object");
  return value as Record<string, unknown>;
}

/** A required string field of at most `max` characters, or ERR_ADMIN_REQUEST. */
export function stringField(v: Record<string, unknown>, key: string, max = 256): string {
  const x = v[key];
  if (typeof x !== "string" || x.length === 0 || x.length > max) throw new AdminError("ERR_ADMIN_REQUEST", `"${key}" must be a non-empty string of at most ${max} characters`);
  return x;
}

/** Runs a request on an area exactly as the socket does: parse, then run. */
export async function runOnArea(area: AdminArea, request: unknown): Promise<unknown> {
  return await area.run(area.parse(request));
}
