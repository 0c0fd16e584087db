/**
 * The trust domain's bundle as the CA last published it, read straight from the store: for
 * commands next to a running `sluice serve` (`sluice bundle show`, doctor) that open the store
 * read-only and must not touch the signing keys.
 */
import type { Store } from "../../store/index.ts";
import { freezeBundle, type TrustBundle } from "../bundle/types.ts";
import { caMetaDb } from "./key-store.ts";

/** Undefined when no CA of `trustDomain` has published a bundle in this store yet. */
export function readPublishedBundle(store: Store, trustDomain: string): TrustBundle | undefined {
  const meta = store.db(caMetaDb).get(trustDomain);
  if (!meta?.published) return undefined;
  const { x509Authorities, jwtAuthorities, refreshHint } = meta.published;
  return freezeBundle({
    trustDomain,
    x509Authorities: x509Authorities.map((d) => new Uint8Array(d)),
    jwtAuthorities,
    sequence: meta.sequence,
    ...(refreshHint === undefined ? {} : { refreshHint }),
  });
}
