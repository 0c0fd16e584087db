/** Decoding of the certificate extensions SPIFFE validation depends on (RFC 5280 §4.2.1). */
import { OID } from "../der/oids.ts";
import { children, content, expectTag, readBoolean, readNamedBits, readOid, readRoot, readSmallInteger, type DerNode } from "../der/reader.ts";
import { TAG } from "../der/writer.ts";
import { DerError } from "../errors.ts";
import { readGeneralName, type GeneralName } from "./general-names.ts";

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** extnValue contents (the DER of the extension's own structure). */
  readonly value: Uint8Array;
}

export interface CertExtensions {
  readonly extensions: readonly Extension[];
  readonly basicConstraints?: { cA: boolean; pathLen?: number; critical: boolean };
  readonly keyUsage?: { bits: ReadonlySet<number>; critical: boolean };
  readonly extKeyUsage?: readonly string[];
  readonly subjectAltName?: { names: readonly GeneralName[]; critical: boolean };
  readonly subjectKeyId?: Uint8Array;
  readonly authorityKeyId?: Uint8Array;
  readonly nameConstraints?: { permitted: readonly GeneralName[]; excluded: readonly GeneralName[]; critical: boolean };
}

export function decodeExtensions(node: DerNode | undefined): CertExtensions {
  if (!node) return { extensions: [] };
  const [list, ...extra] = children(node);
  if (!list || extra.length) throw new DerError("malformed extensions");
  const extensions: Extension[] = [];
  const seen = new Set<string>();
  for (const e of children(expectTag(list, TAG.sequence, "Extensions"))) {
    const parts = children(expectTag(e, TAG.sequence, "Extension"));
    const oid = readOid(parts[0] ?? fail("empty Extension"));
    let at = 1;
    let critical = false;
    if (parts[at]?.tag === TAG.boolean) critical = readBoolean(parts[at++]!);
    const value = content(expectTag(parts[at++] ?? fail("Extension without extnValue"), TAG.octetString, "extnValue"));
    if (at !== parts.length) throw new DerError("malformed Extension");
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of a particular extension.
    if (seen.has(oid)) throw new DerError(`duplicate extension ${oid}`);
    seen.add(oid);
    extensions.push({ oid, critical, value });
  }
  const out: { -readonly [K in keyof CertExtensions]: CertExtensions[K] } = { extensions };
  for (const { oid, critical, value } of extensions) {
    const root = readRoot(value);
    switch (oid) {
      case OID.basicConstraints: {
        const f = children(expectTag(root, TAG.sequence, "BasicConstraints"));
        let i = 0;
        const cA = f[i]?.tag === TAG.boolean ? readBoolean(f[i++]!) : false;
        const pathLen = f[i] ? readSmallInteger(f[i++]!) : undefined;
        if (i !== f.length) throw new DerError("malformed BasicConstraints");
        out.basicConstraints = pathLen === undefined ? { cA, critical } : { cA, pathLen, critical };
        break;
      }
      case OID.keyUsage:
        out.keyUsage = { bits: readNamedBits(root), critical };
        break;
      case OID.extKeyUsage:
        out.extKeyUsage = children(expectTag(root, TAG.sequence, "ExtKeyUsageSyntax")).map(readOid);
        break;
      case OID.subjectAltName:
        out.subjectAltName = { names: children(expectTag(root, TAG.sequence, "GeneralNames")).map(readGeneralName), critical };
        break;
      case OID.subjectKeyIdentifier:
        out.subjectKeyId = content(expectTag(root, TAG.octetString, "SubjectKeyIdentifier"));
        break;
      case OID.authorityKeyIdentifier: {
        const keyId = children(expectTag(root, TAG.sequence, "AuthorityKeyIdentifier")).find((n) => n.tag === 0x80);
        if (keyId) out.authorityKeyId = content(keyId);
        break;
      }
      case OID.nameConstraints:
        out.nameConstraints = { ...readNameConstraints(root), critical };
        break;
    }
  }
  return out;
}

/** NameConstraints ::= SEQUENCE { permittedSubtrees [0], excludedSubtrees [1] } of GeneralSubtree. */
function readNameConstraints(root: DerNode): { permitted: GeneralName[]; excluded: GeneralName[] } {
  const result = { permitted: [] as GeneralName[], excluded: [] as GeneralName[] };
  for (const subtrees of children(expectTag(root, TAG.sequence, "NameConstraints"))) {
    if (subtrees.tag !== 0xa0 && subtrees.tag !== 0xa1) throw new DerError("malformed NameConstraints");
    const target = subtrees.tag === 0xa0 ? result.permitted : result.excluded;
    for (const subtree of children(subtrees)) {
      const [base, ...bounds] = children(expectTag(subtree, TAG.sequence, "GeneralSubtree"));
      // RFC 5280 §4.2.1.10: minimum MUST be zero and maximum MUST be absent.
      if (!base || bounds.length) throw new DerError("GeneralSubtree with minimum/maximum is not allowed");
      target.push(readGeneralName(base));
    }
  }
  return result;
}

function fail(message: string): never {
  throw new DerError(message);
}
