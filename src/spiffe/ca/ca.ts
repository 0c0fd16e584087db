/**
 * The trust domain's CA: signing keys kept sealed in the store, rotated on schedule (rotation.ts),
 * the bundle published into a BundleSet, SVIDs issued from the active keys.
 */
import { createHash, type KeyObject } from "node:crypto";
import type { AuditInput } from "../../audit/index.ts";
import type { Logger } from "../../log/index.ts";
import { BundleSet } from "../bundle/set.ts";
import type { TrustBundle } from "../bundle/types.ts";
import { CaError } from "../errors.ts";
import { signerFor } from "../x509/keys.ts";
import { leafTemplate } from "../x509/leaf.ts";
import { loadIntermediate, type LoadedIntermediate } from "./intermediate.ts";
import { issueJwtSvid, issueX509Svid } from "./issue.ts";
import { CaKeyStore, type KeyKind, type StoredKey } from "./key-store.ts";
import { caSettings, type CaSettings, type TrustDomainCAOptions } from "./options.ts";
import { activeKey, keyState, nextRotationTime, planRotation, type RotationStep } from "./rotation.ts";
import { createJwtKey, createX509Key, jwtSigning, x509Signing, type JwtSigning, type X509Signing } from "./signing-keys.ts";
import type { AuthorityInfo, JwtSvid, JwtSvidRequest, TrustDomainCA, X509Svid, X509SvidRequest } from "./types.ts";

export function openTrustDomainCA(options: TrustDomainCAOptions): TrustDomainCA {
  return new CA(options, caSettings(options));
}

class CA implements TrustDomainCA {
  readonly trustDomain: string;
  readonly mode: "self-signed" | "intermediate";
  readonly bundles: BundleSet;
  readonly #keys: CaKeyStore;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #intermediate: LoadedIntermediate | undefined;
  readonly #x509 = new Map<string, X509Signing>();
  /** The operator's intermediate, when configured (not in the store, not rotated). */
  #operator: X509Signing | undefined;
  readonly #jwt = new Map<string, JwtSigning>();
  #bundle!: TrustBundle;
  #nextCheck = 0;
  /** Ids of the active keys, refreshed by every tick. */
  #active: Partial<Record<KeyKind, string>> = {};
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(
    private readonly options: TrustDomainCAOptions,
    private readonly settings: CaSettings,
  ) {
    this.trustDomain = options.trustDomain;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger.child({ component: "spiffe-ca", trustDomain: this.trustDomain });
    this.#keys = new CaKeyStore(options.store, this.trustDomain);
    this.bundles = options.bundles ?? new BundleSet({ logger: this.#logger });
    this.#intermediate = options.intermediate ? this.#loadIntermediate() : undefined;
    this.mode = this.#intermediate ? "intermediate" : "self-signed";
    this.#checkStoredState();
    this.#openStoredKeys();
    this.#tick(true);
    this.#schedule();
  }

  bundle(): TrustBundle {
    return this.#bundle;
  }

  issueX509Svid(request: X509SvidRequest): X509Svid {
    const now = this.#prepareToIssue();
    return issueX509Svid(this.trustDomain, this.#activeX509(now), request, now);
  }

  issueJwtSvid(request: JwtSvidRequest): JwtSvid {
    const now = this.#prepareToIssue();
    const signing = this.#jwt.get(this.#active.jwt ?? "");
    if (!signing) throw new CaError("ERR_CA_STATE", `the CA of ${this.trustDomain} has no active JWT signing key`);
    return issueJwtSvid(this.trustDomain, signing, request, now);
  }

  rotateNow(options: { immediate?: boolean } = {}): void {
    this.#assertOpen();
    const now = this.#now();
    const events: AuditInput[] = [];
    this.#keys.transaction(() => {
      for (const kind of this.#managedKinds()) {
        const keys = this.#keys.list(kind);
        if (!options.immediate && keys.some((k) => k.activatedAt === undefined && k.notAfter > now)) continue;
        this.#apply(kind, { type: "create", activate: options.immediate === true }, now, events, "admin");
      }
    });
    this.#afterChange(events);
    this.tick();
  }

  tick(): boolean {
    return this.#tick(false);
  }

  #tick(initial: boolean): boolean {
    this.#assertOpen();
    const now = this.#now();
    const events: AuditInput[] = [];
    const changed = this.#keys.transaction(() => {
      for (const kind of this.#managedKinds()) {
        for (let round = 0; round < 4; round++) {
          const steps = planRotation(this.#keys.list(kind), now, this.settings.policy);
          if (steps.length === 0) break;
          const reason = initial && this.#keys.list(kind).length === 0 ? "initial" : "schedule";
          for (const step of steps) this.#apply(kind, step, now, events, reason);
        }
      }
      return this.#publishState(now);
    });
    this.#afterChange(events);
    const kinds = this.#managedKinds();
    for (const k of kinds) this.#active[k] = activeKey(this.#keys.list(k), now)?.id;
    this.#nextCheck = Math.min(...kinds.map((k) => nextRotationTime(this.#keys.list(k), now, this.settings.policy)));
    if (changed || initial) this.#bundle = this.bundles.set(this.#bundleFromStore(now));
    return changed;
  }

  authorities(): AuthorityInfo[] {
    const now = this.#now();
    const out: AuthorityInfo[] = [];
    if (this.#intermediate)
      out.push({ kind: "x509", id: "operator", state: "active", createdAt: this.#intermediate.cert.notBefore, notAfter: this.#intermediate.notAfter, source: "operator" });
    for (const kind of this.#managedKinds()) {
      const keys = this.#keys.list(kind);
      for (const k of keys) out.push({ kind, id: k.id, state: keyState(k, keys, now), createdAt: k.createdAt, notAfter: k.notAfter, ...(k.activatedAt === undefined ? {} : { activatedAt: k.activatedAt }), source: "sluice" });
    }
    return out;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #managedKinds(): KeyKind[] {
    return this.#intermediate ? ["jwt"] : ["x509", "jwt"];
  }

  #apply(kind: KeyKind, step: RotationStep, now: number, events: AuditInput[], reason: string): void {
    const subject = `spiffe://${this.trustDomain}`;
    const event = (action: string, details: Record<string, unknown>) =>
      events.push({ kind: `spiffe.${kind}-authority.${action}`, subject, decision: "info", details: { ...details, reason } });
    if (step.type === "remove") {
      this.#keys.remove(kind, step.id);
      event("remove", { id: step.id });
    } else if (step.type === "activate") {
      const stored = this.#keys.list(kind).find((k) => k.id === step.id)!;
      this.#keys.put({ ...stored, activatedAt: this.#activationTime(kind, now) });
      event("activate", { id: step.id, notAfter: new Date(stored.notAfter).toISOString() });
    } else {
      const created = (kind === "x509" ? createX509Key : createJwtKey)(this.#keys, now, this.settings.policy.ttlMs, step.activate ? this.#activationTime(kind, now) : undefined);
      this.#keys.put(created.stored);
      this.#remember(created.stored, created.privateKey);
      event("create", { id: created.stored.id, active: step.activate, notAfter: new Date(created.stored.notAfter).toISOString() });
    }
  }

  /** Strictly after every earlier activation, so the newest key wins even if the clock stepped back. */
  #activationTime(kind: KeyKind, now: number): number {
    const latest = Math.max(-Infinity, ...this.#keys.list(kind).map((k) => k.activatedAt ?? -Infinity));
    return Math.max(now, latest + 1);
  }

  /** Logged and audited once the transaction committed. */
  #afterChange(events: AuditInput[]): void {
    for (const e of events) {
      this.#logger.info(`${e.kind.replace(/^spiffe\./, "").replace(/\./g, " ")}`, e.details);
      this.options.audit?.append(e);
    }
    const live = new Set([...this.#managedKinds()].flatMap((k) => this.#keys.list(k).map((s) => `${k}:${s.id}`)));
    for (const id of this.#x509.keys()) if (!live.has(`x509:${id}`)) this.#x509.delete(id);
    for (const id of this.#jwt.keys()) if (!live.has(`jwt:${id}`)) this.#jwt.delete(id);
  }

  /** Bump `spiffe_sequence` when the bundle's contents changed (Trust Domain and Bundle §4.1.1). */
  #publishState(now: number): boolean {
    const { x509Authorities, jwtAuthorities, refreshHint } = this.#bundleFromStore(now, 0);
    const published = { x509Authorities: [...x509Authorities], jwtAuthorities: [...jwtAuthorities], refreshHint };
    const digest = bundleDigest(published);
    const meta = this.#keys.meta();
    if (meta?.digest === digest) return false;
    this.#keys.putMeta({ sequence: (meta?.sequence ?? 0) + 1, digest, selfSigned: !this.#intermediate, published });
    return true;
  }

  #bundleFromStore(now: number, sequence = this.#keys.meta()?.sequence ?? 0): TrustBundle {
    const live = (kind: KeyKind) => this.#keys.list(kind).filter((k) => k.notAfter > now).sort((a, b) => a.createdAt - b.createdAt);
    return {
      trustDomain: this.trustDomain,
      x509Authorities: this.#intermediate ? [this.#intermediate.anchor] : live("x509").map((k) => k.cert!),
      jwtAuthorities: live("jwt").map((k) => ({ kid: k.id, jwk: k.jwk! })),
      sequence,
      refreshHint: this.settings.refreshHintSeconds,
    };
  }

  #remember(stored: StoredKey, privateKey: KeyObject): void {
    if (stored.kind === "x509") this.#x509.set(stored.id, x509Signing(stored, privateKey));
    else this.#jwt.set(stored.id, jwtSigning(stored, privateKey));
  }

  /** Every stored key is decrypted at start: one that cannot be is an error, not a reason for a new CA. */
  #openStoredKeys(): void {
    for (const kind of this.#managedKinds()) for (const stored of this.#keys.list(kind)) this.#remember(stored, this.#keys.open(stored));
  }

  /** A store that says this trust domain had a CA but holds none of its keys was tampered with or half-restored. */
  #checkStoredState(): void {
    const meta = this.#keys.meta();
    if (!meta) return;
    const missing = this.#managedKinds().filter((k) => (k === "x509" ? meta.selfSigned : true) && this.#keys.list(k).length === 0);
    if (missing.length)
      throw new CaError(
        "ERR_CA_STATE",
        `the store in ${this.options.store.dataDir} records a CA for ${this.trustDomain} (bundle sequence ${meta.sequence}) but holds no ${missing.join("/")} signing keys: restore the data dir from a backup; sluice will not silently create a new CA`,
      );
    if (this.#intermediate && this.#keys.list("x509").length)
      this.#logger.info("stored sluice-generated X.509 CA keys are not used while an operator intermediate is configured");
  }

  #loadIntermediate(): LoadedIntermediate {
    const loaded = loadIntermediate(this.options.intermediate!, this.trustDomain, this.#now(), this.#logger);
    this.#operator = {
      id: "operator",
      template: leafTemplate({ subject: loaded.cert.subject, keyId: loaded.keyId, signer: signerFor(loaded.privateKey) }),
      chain: loaded.chain,
      notBefore: loaded.cert.notBefore,
      notAfter: loaded.notAfter,
    };
    const notAfter = new Date(loaded.notAfter).toISOString();
    this.#logger.info("using the operator's intermediate CA; sluice does not rotate it — renew it before it expires", { certFile: this.options.intermediate!.certFile, notAfter });
    this.options.audit?.append({ kind: "spiffe.x509-authority.operator", subject: `spiffe://${this.trustDomain}`, decision: "info", details: { certFile: this.options.intermediate!.certFile, notAfter } });
    return loaded;
  }

  #activeX509(now: number): X509Signing {
    if (this.#intermediate) {
      if (now > this.#intermediate.notAfter) throw new CaError("ERR_CA_STATE", `the operator's intermediate CA expired at ${new Date(this.#intermediate.notAfter).toISOString()}; install a renewed one`);
      return this.#operator!;
    }
    const signing = this.#x509.get(this.#active.x509 ?? "");
    if (!signing) throw new CaError("ERR_CA_STATE", `the CA of ${this.trustDomain} has no active X.509 authority`);
    return signing;
  }

  #prepareToIssue(): number {
    this.#assertOpen();
    const now = this.#now();
    if (now >= this.#nextCheck) this.tick();
    return now;
  }

  #schedule(): void {
    if (this.#closed) return;
    const delay = Math.max(1000, Math.min(this.#nextCheck - this.#now(), this.settings.maxCheckIntervalMs));
    this.#timer = setTimeout(() => {
      try {
        this.tick();
      } catch (error) {
        this.#logger.error("CA rotation check failed; retrying", { error });
      }
      this.#schedule();
    }, delay);
    this.#timer.unref?.();
  }

  #assertOpen(): void {
    if (this.#closed) throw new CaError("ERR_CA_CLOSED", `the CA of ${this.trustDomain} is closed`);
  }
}

function bundleDigest(b: Pick<TrustBundle, "x509Authorities" | "jwtAuthorities" | "refreshHint">): string {
  const h = createHash("sha256");
  for (const der of b.x509Authorities) h.update(der);
  for (const j of b.jwtAuthorities) h.update(`|${j.kid}`);
  h.update(`|${b.refreshHint}`);
  return h.digest("hex");
}
