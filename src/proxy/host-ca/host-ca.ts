/**
 * The host CA: a P-256 CA that signs the leaves the proxy shows agents when it intercepts TLS.
 * Key sealed in the store (`store.sealer("host-ca")`), certificate stored beside it and written,
 * public, to `<dataDir>/host-ca.pem` for `sluice trust` (which cannot open the store while
 * `sluice serve` holds its lock).
 *
 * Leaves: minted ahead of time for every Service name in the policy snapshot (`prepare`), re-minted
 * when the policy changes; minted on demand only for names policy could not know, kept in a bounded
 * LRU. Every leaf is renewed when less than a third of its lifetime is left.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { writeFileSync, renameSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { defineDatabase, type Store } from "../../store/index.ts";
import { toPem } from "../../spiffe/workload-api/pem.ts";
import { keyIdentifier, spkiOf } from "../../spiffe/x509/keys.ts";
import { parseCertificate } from "../../spiffe/index.ts";
import { buildHostCaCertificate, buildServerLeaf, type LeafSigner } from "./certificates.ts";
import { LruCache } from "./leaf-cache.ts";

interface StoredHostCa {
  readonly certDer: Uint8Array;
  readonly sealedKey: Uint8Array;
}

const hostCaDb = defineDatabase<string, StoredHostCa>({ name: "proxy.host-ca" });
const KEY_AAD = "host-ca:key";
const DAY = 86_400_000;

export const HOST_CA_PEM_FILE = "host-ca.pem";

export interface HostCaOptions {
  /** Validity of a new CA certificate, days. Default 3650. */
  readonly caDays?: number;
  /** Validity of a leaf, hours. Default 7 days. */
  readonly leafHours?: number;
  /** On-demand leaves kept. Default 1024. */
  readonly onDemandCapacity?: number;
  readonly now?: () => number;
}

/** What a TLS server needs for one name set (Bun's TLSOptions shape). */
export interface ServerIdentity {
  readonly names: readonly string[];
  readonly cert: string;
  readonly key: string;
  readonly notAfter: number;
  /** Renew after this instant. */
  readonly renewAt: number;
}

export interface HostCa {
  /** The CA certificate, PEM (what `sluice trust` installs). */
  readonly certPem: string;
  readonly certDer: Uint8Array;
  readonly pemPath: string;
  /** Mints (or keeps) the leaves for these name sets, dropping ahead-of-time leaves not listed. */
  prepare(nameSets: readonly (readonly string[])[]): void;
  /** The ahead-of-time leaf covering `name`, or an on-demand one (cached). */
  identityFor(name: string): ServerIdentity;
  /** The ahead-of-time leaf for exactly this name set (minting it if needed). */
  identityForSet(names: readonly string[]): ServerIdentity;
  stats(): { prepared: number; onDemand: number; minted: number };
}

function loadOrCreate(store: Store, now: number, caDays: number): { certDer: Uint8Array; privateKey: KeyObject } {
  const db = store.db(hostCaDb);
  const sealer = store.sealer("host-ca");
  const stored = db.get("current");
  if (stored) {
    const cert = parseCertificate(stored.certDer);
    if (cert.notAfter > now + 30 * DAY) {
      const pkcs8 = sealer.open(stored.sealedKey, KEY_AAD);
      return { certDer: stored.certDer, privateKey: createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" }) };
    }
  }
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const certDer = buildHostCaCertificate(privateKey, hostname(), now - 5 * 60_000, now + caDays * DAY);
  const pkcs8 = new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" }));
  db.putSync("current", { certDer, sealedKey: sealer.seal(pkcs8, KEY_AAD) });
  return { certDer, privateKey };
}

const setKey = (names: readonly string[]) => [...new Set(names.map((n) => n.toLowerCase()))].sort().join(",");

export function openHostCa(store: Store, options: HostCaOptions = {}): HostCa {
  const now = options.now ?? Date.now;
  const leafMs = (options.leafHours ?? 24 * 7) * 3_600_000;
  const { certDer, privateKey } = loadOrCreate(store, now(), options.caDays ?? 3650);
  const parsed = parseCertificate(certDer);
  const signer: LeafSigner = { subject: parsed.subject, keyId: keyIdentifier(spkiOf(privateKey)), privateKey };
  const certPem = toPem("CERTIFICATE", certDer);
  const pemPath = join(store.dataDir, HOST_CA_PEM_FILE);
  const tmp = `${pemPath}.tmp-${process.pid}`;
  writeFileSync(tmp, certPem, { mode: 0o644 });
  renameSync(tmp, pemPath);

  let minted = 0;
  const mint = (names: readonly string[]): ServerIdentity => {
    const t = now();
    const notAfter = Math.min(t + leafMs, parsed.notAfter);
    const { privateKey: leafKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const der = buildServerLeaf(signer, publicKey, names, t - 5 * 60_000, notAfter);
    minted++;
    return {
      names: [...names],
      cert: toPem("CERTIFICATE", der),
      key: leafKey.export({ format: "pem", type: "pkcs8" }) as string,
      notAfter,
      renewAt: t + ((notAfter - t) * 2) / 3,
    };
  };

  let prepared = new Map<string, ServerIdentity>(); // set key → leaf
  let byName = new Map<string, ServerIdentity>(); // name → leaf of its set
  const onDemand = new LruCache<ServerIdentity>(options.onDemandCapacity ?? 1024);

  const fresh = (id: ServerIdentity | undefined) => (id && id.renewAt > now() ? id : undefined);

  const identityForSet = (names: readonly string[]): ServerIdentity => {
    const key = setKey(names);
    let id = fresh(prepared.get(key));
    if (!id) {
      id = mint(key.split(","));
      prepared.set(key, id);
      for (const n of id.names) byName.set(n, id);
    }
    return id;
  };

  return {
    certPem,
    certDer,
    pemPath,
    prepare(nameSets) {
      const next = new Map<string, ServerIdentity>();
      const nextByName = new Map<string, ServerIdentity>();
      for (const names of nameSets) {
        if (names.length === 0) continue;
        const key = setKey(names);
        const id = fresh(prepared.get(key)) ?? fresh(next.get(key)) ?? mint(key.split(","));
        next.set(key, id);
        for (const n of id.names) nextByName.set(n, id);
      }
      prepared = next;
      byName = nextByName;
    },
    identityFor(name) {
      const n = name.toLowerCase();
      const own = fresh(byName.get(n));
      if (own) return own;
      if (byName.has(n)) return identityForSet(byName.get(n)!.names);
      let id = fresh(onDemand.get(n));
      if (!id) {
        id = mint([n]);
        onDemand.set(n, id);
      }
      return id;
    },
    identityForSet,
    stats: () => ({ prepared: prepared.size, onDemand: onDemand.size, minted }),
  };
}
