/** Shared helpers for policy tests: build documents whose line numbers are easy to read. */
import { buildPolicy, checkPolicy, formatDiagnostic, type PolicySourceFile } from "../../../src/policy/index.ts";

export const TD = "sluice.local";
export const HEAD = (kind: string, name: string) => `apiVersion: sluice/v1alpha1\nkind: ${kind}\nmetadata: {name: ${name}}\nspec:\n`;

/** Lines 1-4 are the envelope; `spec` starts at line 5. */
export const wi = (spec: string, name = "claude") => HEAD("WorkloadIdentity", name) + spec;
export const svc = (spec: string, name = "api") => HEAD("Service", name) + spec;
export const src = (spec: string, name = "creds") => HEAD("CredentialSource", name) + spec;
export const bind = (spec: string, name = "b") => HEAD("CredentialBinding", name) + spec;

export const MIN_SELECTORS = "  selectors: [{process:uid: 1000}]\n";

export function check(files: Record<string, string>, trustDomain = TD) {
  const list: PolicySourceFile[] = Object.entries(files).map(([path, text]) => ({ path, text }));
  return checkPolicy(list, { trustDomain });
}

export function build(files: Record<string, string>, trustDomain = TD) {
  const list: PolicySourceFile[] = Object.entries(files).map(([path, text]) => ({ path, text }));
  return buildPolicy(list, { trustDomain });
}

export function formatted(files: Record<string, string>, trustDomain = TD): string[] {
  return check(files, trustDomain).diagnostics.map(formatDiagnostic);
}
