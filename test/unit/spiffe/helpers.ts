import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { AuditLog } from "../../../src/audit/index.ts";
import { openStore, type Store } from "../../../src/store/index.ts";
import { createLogger, silentLogger, type Logger } from "../../../src/log/index.ts";
import { openTrustDomainCA, type TrustDomainCA, type TrustDomainCAOptions } from "../../../src/spiffe/index.ts";
import { tempRoot } from "../store/helpers.ts";

export { tempRoot, thrown, rejection } from "../store/helpers.ts";

export const TD = "example.org";
export const DAY = 24 * 3600 * 1000;

/** A settable clock for the CA (ms). */
export function clock(start = Date.UTC(2030, 0, 1)): { now: () => number; set(ms: number): void; advance(ms: number): void } {
  let t = start;
  return { now: () => t, set: (ms) => void (t = ms), advance: (ms) => void (t += ms) };
}

/** A logger that keeps its lines (to assert on what operators are told). */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) }), lines };
}

export interface CaFixture {
  store: Store;
  ca: TrustDomainCA;
  /** The real hash-chained audit log, when the fixture was opened with `withAudit`. */
  audit: AuditLog | undefined;
  dataDir: string;
  /** A restart: close CA, audit log and store, open them again. */
  reopen(options?: Partial<TrustDomainCAOptions>): Promise<TrustDomainCA>;
  /** Close everything but keep the data dir (e.g. to inspect or tamper with the LMDB file). */
  close(): Promise<void>;
  cleanup(): Promise<void>;
}

/** A CA over a real LMDB store in a temp dir. */
export async function openCaFixture(options: Partial<TrustDomainCAOptions> = {}, fixtureOptions: { withAudit?: boolean } = {}): Promise<CaFixture> {
  const tmp = tempRoot("sluice-spiffe-");
  const fixture = { dataDir: tmp.dataDir } as CaFixture;
  const open = async (more: Partial<TrustDomainCAOptions>) => {
    fixture.store = await openStore({ dataDir: tmp.dataDir });
    fixture.audit = fixtureOptions.withAudit ? await AuditLog.open(fixture.store, { mirrorPath: null }) : undefined;
    fixture.ca = openTrustDomainCA({ store: fixture.store, trustDomain: TD, logger: silentLogger, ...(fixture.audit ? { audit: fixture.audit } : {}), ...options, ...more });
    return fixture.ca;
  };
  let closed = false;
  fixture.close = async () => {
    if (closed) return;
    closed = true;
    fixture.ca?.close();
    await fixture.audit?.close();
    await fixture.store.close();
  };
  fixture.reopen = async (more = {}) => {
    await fixture.close();
    closed = false;
    try {
      return await open(more);
    } catch (err) {
      // Leave the fixture closable after a refused start.
      closed = true;
      await fixture.audit?.close();
      await fixture.store.close();
      throw err;
    }
  };
  fixture.cleanup = async () => {
    await fixture.close();
    tmp.cleanup();
  };
  try {
    await open({});
  } catch (err) {
    // A refused start (the point of some tests) leaves nothing behind.
    await fixture.audit?.close();
    await fixture.store?.close();
    tmp.cleanup();
    throw err;
  }
  return fixture;
}

export function p256(): KeyObject {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
}

export const toPem = (der: Uint8Array, label = "CERTIFICATE"): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
