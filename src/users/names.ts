import { SluiceError } from "../errors/index.ts";
import { tryParseSpiffeId } from "../identity/index.ts";

/** 1–64 chars, lower-case letters, digits, `.`, `-`, `_`, starting with a letter or digit: a valid SPIFFE path segment (SPIFFE-ID §2.2) that is also safe in a URL, a file name and a log line. */
export const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MAX_USER_NAME_LENGTH = 64;

export class UserError extends SluiceError {}

/** Throws `ERR_USER_NAME` saying what is wrong with `name`. */
export function validateUserName(name: string): string {
  if (typeof name !== "string" || name.length === 0) throw new UserError("ERR_USER_NAME", "a user name is required");
  if (name.length > MAX_USER_NAME_LENGTH) throw new UserError("ERR_USER_NAME", `user name is ${name.length} characters long; the limit is ${MAX_USER_NAME_LENGTH}`);
  if (name === "." || name === ".." || !USER_NAME.test(name)) {
    throw new UserError("ERR_USER_NAME", `user name ${JSON.stringify(name.slice(0, 80))} is invalid: use lower-case letters, digits, ".", "-" and "_", starting with a letter or digit (e.g. alice, bob.smith)`);
  }
  return name;
}

/** `config.users.spiffeIdTemplate` with `{trustDomain}` and `{name}` replaced; throws if the result is not a SPIFFE ID. */
export function userSpiffeId(template: string, trustDomain: string, name: string): string {
  const id = template.replaceAll("{trustDomain}", trustDomain).replaceAll("{name}", validateUserName(name));
  const parsed = tryParseSpiffeId(id);
  if (!parsed.ok) throw new UserError("ERR_USER_SPIFFE_ID", `users.spiffeIdTemplate gives ${JSON.stringify(id)} for ${name}, which is not a SPIFFE ID: ${parsed.error.message}`);
  return id;
}
