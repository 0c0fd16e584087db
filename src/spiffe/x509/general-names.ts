/** GeneralName (RFC 5280 §4.2.1.6) as used by subjectAltName and nameConstraints. */
import { content, type DerNode } from "../der/reader.ts";
import { DerError } from "../errors.ts";

export type GeneralName =
  | { type: "uri"; value: string }
  | { type: "dns"; value: string }
  | { type: "other"; tag: number };

/** `[2] dNSName` and `[6] uniformResourceIdentifier` are IA5String, implicitly tagged. */
const DNS_NAME = 0x82;
const URI = 0x86;

export function readGeneralName(node: DerNode): GeneralName {
  if (node.tag === URI || node.tag === DNS_NAME) {
    const bytes = content(node);
    for (const b of bytes) if (b > 0x7e || b < 0x20) throw new DerError("GeneralName is not printable IA5String");
    const value = new TextDecoder().decode(bytes);
    return node.tag === URI ? { type: "uri", value } : { type: "dns", value };
  }
  if ((node.tag & 0xc0) !== 0x80) throw new DerError(`GeneralName has a non-context tag 0x${node.tag.toString(16)}`);
  return { type: "other", tag: node.tag & 0x1f };
}
