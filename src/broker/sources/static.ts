/** `static`: a secret from a file or the environment, put into the configured header with `format`. */
import type { SecretReader } from "../secrets.ts";
import type { SecretRef } from "../../policy/index.ts";

export function staticHeader(secrets: SecretReader, spec: { valueFrom: SecretRef; header: string; format: string }): readonly [string, string] {
  const value = secrets.read(spec.valueFrom);
  return [spec.header, spec.format.replaceAll("{value}", value)];
}
