/**
 * RFC 5280 path validation (X509-SVID §5.1) from a leaf through the presented intermediates to
 * one of the trust domain's authorities. Paths are searched depth-first (intermediates may come in
 * any order); the first complete path that passes every check wins, otherwise the error of the
 * most promising attempt is thrown.
 */
import { KEY_USAGE, UNDERSTOOD_EXTENSIONS } from "../der/oids.ts";
import { SvidError, type X509SvidRule } from "../errors.ts";
import { nameConstraintProblem } from "./name-constraints.ts";
import { equalBytes, type ParsedCertificate } from "./parse.ts";
import { isSupportedSignatureAlgorithm, signedBy } from "./signature.ts";

export interface PresentedCert {
  readonly cert: ParsedCertificate;
  /** Position in the presented chain (0 = leaf); undefined for an authority from the bundle. */
  readonly index: number | undefined;
}

export const MAX_PATH_DEPTH = 8;
/** Candidate issuers tried per validation: a hostile chain of look-alike certificates cannot make the search explode. */
export const MAX_PATH_STEPS = 64;

export function validatePath(leaf: ParsedCertificate, intermediates: readonly PresentedCert[], anchors: readonly ParsedCertificate[], now: number): ParsedCertificate[] {
  const candidates = intermediates.filter((i) => !anchors.some((a) => equalBytes(a.der, i.cert.der)));
  let best: { depth: number; error: SvidError } | undefined;
  let steps = 0;
  const verified = (cert: PresentedCert, issuer: PresentedCert): boolean => {
    if (++steps > MAX_PATH_STEPS) throw err("unknown-authority", `gave up building a path after ${MAX_PATH_STEPS} candidate issuers`, cert.index);
    return signedBy(cert.cert, issuer.cert);
  };
  const note = (depth: number, error: SvidError) => {
    if (!best || depth > best.depth || (depth === best.depth && best.error.rule === "unknown-authority")) best = { depth, error };
  };

  const search = (path: PresentedCert[]): ParsedCertificate[] | undefined => {
    const current = path[path.length - 1]!;
    const at = path.length;
    const issuers = (pool: readonly PresentedCert[]) => pool.filter((c) => mayHaveIssued(c.cert, current.cert) && !path.includes(c));
    for (const anchor of issuers(anchors.map((cert) => ({ cert, index: undefined })))) {
      if (!verified(current, anchor)) {
        note(at, signatureError(current));
        continue;
      }
      const full = [...path, anchor];
      const problem = pathProblem(full, now);
      if (!problem) return full.map((p) => p.cert);
      note(at + 1, problem);
    }
    if (at >= MAX_PATH_DEPTH) return undefined;
    for (const next of issuers(candidates)) {
      if (!verified(current, next)) {
        note(at, signatureError(current));
        continue;
      }
      const found = search([...path, next]);
      if (found) return found;
    }
    note(at, err("unknown-authority", "the chain does not lead to an authority in the trust domain's bundle", current.index));
    return undefined;
  };

  const found = search([{ cert: leaf, index: 0 }]);
  if (found) return found;
  throw best!.error;
}

/** Issuer name equal to the candidate's subject, and key identifiers consistent when both are present. */
function mayHaveIssued(issuer: ParsedCertificate, cert: ParsedCertificate): boolean {
  if (!equalBytes(cert.issuer, issuer.subject)) return false;
  return !cert.authorityKeyId || !issuer.subjectKeyId || equalBytes(cert.authorityKeyId, issuer.subjectKeyId);
}

function signatureError(c: PresentedCert): SvidError {
  if (!isSupportedSignatureAlgorithm(c.cert.signatureAlgorithm))
    return err("signature-algorithm", `unsupported signature algorithm ${c.cert.signatureAlgorithm}`, c.index);
  return err("signature", "signature does not verify with the issuer's key", c.index);
}

/** Everything RFC 5280 §6.1.3–6.1.4 and X509-SVID §4 ask of a complete path [leaf, …, anchor]. */
function pathProblem(path: readonly PresentedCert[], now: number): SvidError | undefined {
  for (let j = 0; j < path.length; j++) {
    const { cert, index } = path[j]!;
    const who = j === 0 ? "leaf" : index === undefined ? "authority" : `certificate ${index}`;
    if (now < cert.notBefore) return err("not-yet-valid", `${who} is not valid before ${new Date(cert.notBefore).toISOString()}`, index);
    if (now > cert.notAfter) return err("expired", `${who} expired at ${new Date(cert.notAfter).toISOString()}`, index);
    // RFC 5280 §4.2: a certificate with a critical extension the validator does not understand MUST be rejected.
    const unknown = cert.extensions.find((e) => e.critical && !UNDERSTOOD_EXTENSIONS.has(e.oid));
    if (unknown) return err("unknown-critical-extension", `${who} has an unsupported critical extension ${unknown.oid}`, index);
    if (j === 0) continue;
    // X509-SVID §3.2/§4.1/§4.3: a signing certificate MUST set cA=true and keyCertSign.
    if (!cert.basicConstraints?.cA) return err("signing-cert-not-ca", `${who} signs certificates but is not a CA (cA=false)`, index);
    if (!cert.keyUsage?.bits.has(KEY_USAGE.keyCertSign)) return err("signing-cert-key-usage", `${who} signs certificates but keyUsage lacks keyCertSign`, index);
    // RFC 5280 §4.2.1.9: at most pathLen non-leaf certificates below this one.
    const pathLen = cert.basicConstraints.pathLen;
    if (pathLen !== undefined && j - 1 > pathLen) return err("path-length", `${who} allows ${pathLen} intermediate(s) below it, the path has ${j - 1}`, index);
    for (let k = 0; k < j; k++) {
      const problem = nameConstraintProblem(cert, path[k]!.cert);
      if (problem) return err("name-constraints", `${who}: ${problem}`, path[k]!.index);
    }
  }
  return undefined;
}

function err(rule: X509SvidRule, message: string, certIndex: number | undefined): SvidError {
  return new SvidError("x509", rule, message, certIndex === undefined ? {} : { certIndex });
}
