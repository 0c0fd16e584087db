/**
 * Secrets are never written in policy files: only references (`file:` or `env:`). Keys and values
 * that look like inline secrets are errors with the fix in the message.
 */
import * as s from "../../schema/index.ts";
import type { SecretRef } from "../types.ts";
import { absolutePath } from "./common.ts";

const SECRET_KEY = /^(value|secret|client_?secret|password|passwd|token|access_?token|refresh_?token|api_?key|private_?key|bearer|credentials?)$/i;

/** An `unknownField` hook: a secret-looking key gets a dedicated message naming the reference field. */
export function inlineSecretKey(reference: string) {
  return (key: string) =>
    SECRET_KEY.test(key)
      ? {
          message: `\`${key}\` looks like an inline secret: secrets are never written in policy files; use \`${reference}: {file: /etc/sluice/secrets/NAME}\` or \`{env: NAME}\``,
          code: "policy.inline-secret",
        }
      : undefined;
}

/** Well-known token shapes (provider prefixes, JWTs, PEM keys, a literal bearer token). */
const SECRET_VALUE: ReadonlyArray<[RegExp, string]> = [
  [/\bsk-[A-Za-z0-9_-]{16,}/, "an API key (sk-…)"],
  [/\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/, "a GitHub token"],
  [/\bglpat-[A-Za-z0-9_-]{16,}/, "a GitLab token"],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/, "a Slack token"],
  [/\bAKIA[0-9A-Z]{16}\b/, "an AWS access key"],
  [/\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./, "a JWT"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/, "a literal credential"],
];

export function secretValueKind(value: string): string | undefined {
  for (const [re, kind] of SECRET_VALUE) if (re.test(value)) return kind;
  return undefined;
}

/** Wrap a string schema so a value that looks like a secret is an error. */
export function noSecret(schema: s.Schema<string>, what: string): s.Schema<string> {
  return s.refine(schema, (v, node, ctx) => {
    const kind = secretValueKind(v);
    if (kind === undefined) return v;
    ctx.error(node, `${what} looks like ${kind}: secrets are never written in policy files; reference them with \`file:\` or \`env:\``, "policy.inline-secret");
    return s.INVALID;
  });
}

const envName = s.string({ what: "environment variable name", maxLength: 256, pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, hint: "use letters, digits and '_', not starting with a digit" });

export const secretRef: s.Schema<SecretRef> = s.refine(
  s.oneKey({ file: absolutePath("secret file"), env: envName }, { what: "secret reference", unknownField: inlineSecretKey("valueFrom") }),
  (v): SecretRef => (v.type === "file" ? { type: "file", path: v.value } : { type: "env", name: v.value }),
);
