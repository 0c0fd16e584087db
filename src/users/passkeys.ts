/**
 * WebAuthn ceremonies (@simplewebauthn/server): registration with a resident key and user
 * verification required, login with discoverable credentials (no user name typed), signature
 * counters checked. Challenges live in memory for a few minutes, single use, bound to the
 * browser's CSRF cookie.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { isIP } from "node:net";
import type { UserAccounts } from "./accounts.ts";
import type { AccountRecord, PasskeyRecord } from "./db.ts";
import { UserError } from "./names.ts";
import { hashToken, nowSeconds, randomToken } from "./secrets.ts";

const CEREMONY_TTL_MS = 5 * 60_000;
const MAX_CEREMONIES = 10_000;
const TIMEOUT_MS = 120_000;

export interface RelyingParty {
  /** The issuer's host name (WebAuthn §5.1.2: a registrable domain or `localhost`, never an IP address). */
  readonly id: string;
  readonly origin: string;
  readonly name: string;
}

/** The relying party for `issuer`, or why passkeys cannot work with it. */
export function relyingParty(issuer: string): { rp: RelyingParty; problem?: undefined } | { rp?: undefined; problem: string } {
  const url = new URL(issuer);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) {
    return { problem: `Passkeys cannot work with the issuer ${url.origin}: WebAuthn needs a host name, not an IP address. Set issuer in sluice.yaml to a name that reaches sluice (e.g. http://localhost:${url.port || 80} on this machine, or https://sluice.example.com with a certificate).` };
  }
  return { rp: { id: host, origin: url.origin, name: "sluice" } };
}

interface Ceremony {
  readonly challenge: string;
  readonly kind: "register" | "authenticate";
  /** The account being registered for (registration only). */
  readonly user?: string;
  readonly binding: string;
  readonly expiresAt: number;
}

export type LoginResult = { ok: true; user: AccountRecord; passkey: PasskeyRecord } | { ok: false; reason: string };

export class Passkeys {
  readonly #ceremonies = new Map<string, Ceremony>();
  constructor(
    private readonly rp: RelyingParty,
    private readonly accounts: UserAccounts,
  ) {}

  async registrationOptions(account: AccountRecord, browserBinding: string): Promise<{ ceremony: string; options: PublicKeyCredentialCreationOptionsJSON }> {
    const options = await generateRegistrationOptions({
      rpName: this.rp.name,
      rpID: this.rp.id,
      userName: account.name,
      userDisplayName: account.displayName ?? account.name,
      userID: Buffer.from(account.handle, "base64url"),
      attestationType: "none",
      timeout: TIMEOUT_MS,
      excludeCredentials: this.accounts.passkeys(account.name).map((p) => ({ id: p.id, ...(p.transports ? { transports: [...p.transports] } : {}) })),
      // Discoverable credential and user verification (WebAuthn §5.4.4): the passkey alone is the login.
      authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
    });
    return { ceremony: this.#begin({ challenge: options.challenge, kind: "register", user: account.name, binding: browserBinding }), options };
  }

  /** Verifies a registration; returns the passkey record to store (the caller stores it, atomically with its other effects). */
  async verifyRegistration(ceremonyId: string, browserBinding: string, responseJson: string): Promise<PasskeyRecord> {
    const ceremony = this.#take(ceremonyId, "register", browserBinding);
    const response = parseJson<RegistrationResponseJSON>(responseJson);
    let result;
    try {
      result = await verifyRegistrationResponse({
        response,
        expectedChallenge: ceremony.challenge,
        expectedOrigin: this.rp.origin,
        expectedRPID: this.rp.id,
        requireUserVerification: true,
      });
    } catch (err) {
      throw new UserError("ERR_PASSKEY_REGISTRATION", `the passkey could not be verified: ${(err as Error).message}`);
    }
    if (!result.verified) throw new UserError("ERR_PASSKEY_REGISTRATION", "the passkey could not be verified");
    const info = result.registrationInfo;
    if (!info.userVerified) throw new UserError("ERR_PASSKEY_UV", "the authenticator did not verify the user (PIN or biometric); sluice requires it");
    return {
      id: info.credential.id,
      user: ceremony.user!,
      publicKey: info.credential.publicKey,
      counter: info.credential.counter,
      ...(info.credential.transports ? { transports: info.credential.transports } : {}),
      aaguid: info.aaguid,
      backedUp: info.credentialBackedUp,
      createdAt: nowSeconds(),
    };
  }

  async authenticationOptions(browserBinding: string): Promise<{ ceremony: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    // No allowCredentials: the authenticator offers its discoverable credentials for this RP.
    const options = await generateAuthenticationOptions({ rpID: this.rp.id, userVerification: "required", timeout: TIMEOUT_MS });
    return { ceremony: this.#begin({ challenge: options.challenge, kind: "authenticate", binding: browserBinding }), options };
  }

  async verifyLogin(ceremonyId: string, browserBinding: string, responseJson: string): Promise<LoginResult> {
    let ceremony: Ceremony;
    let response: AuthenticationResponseJSON;
    try {
      ceremony = this.#take(ceremonyId, "authenticate", browserBinding);
      response = parseJson<AuthenticationResponseJSON>(responseJson);
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    const passkey = typeof response.id === "string" ? this.accounts.passkey(response.id) : undefined;
    if (!passkey) return { ok: false, reason: "this passkey is not registered here (it may have been removed)" };
    const account = this.accounts.account(passkey.user);
    if (!account) return { ok: false, reason: "this passkey's user no longer exists" };
    // WebAuthn §7.2 step 6: the user handle must belong to the credential's owner.
    if (response.response.userHandle !== undefined && response.response.userHandle !== account.handle) return { ok: false, reason: "the passkey does not belong to its user" };
    let result;
    try {
      result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: ceremony.challenge,
        expectedOrigin: this.rp.origin,
        expectedRPID: this.rp.id,
        credential: { id: passkey.id, publicKey: new Uint8Array(passkey.publicKey), counter: passkey.counter, ...(passkey.transports ? { transports: [...passkey.transports] as never } : {}) },
        requireUserVerification: true,
      });
    } catch (err) {
      return { ok: false, reason: `the passkey could not be verified: ${(err as Error).message}` };
    }
    if (!result.verified) return { ok: false, reason: "the passkey signature is not valid" };
    if (!result.authenticationInfo.userVerified) return { ok: false, reason: "the authenticator did not verify the user; sluice requires it" };
    if (!this.accounts.recordPasskeyUse(passkey.id, passkey.counter, result.authenticationInfo.newCounter)) {
      return { ok: false, reason: "this passkey was used concurrently or removed; try again" };
    }
    return { ok: true, user: account, passkey };
  }

  #begin(c: Omit<Ceremony, "expiresAt" | "binding"> & { binding: string }): string {
    const now = Date.now();
    for (const [id, old] of this.#ceremonies) {
      if (old.expiresAt > now && this.#ceremonies.size < MAX_CEREMONIES) break;
      this.#ceremonies.delete(id);
    }
    const id = randomToken(24);
    this.#ceremonies.set(id, { ...c, binding: hashToken(c.binding), expiresAt: now + CEREMONY_TTL_MS });
    return id;
  }

  #take(id: string, kind: Ceremony["kind"], binding: string): Ceremony {
    const c = this.#ceremonies.get(id);
    this.#ceremonies.delete(id);
    if (!c || c.expiresAt <= Date.now() || c.kind !== kind || c.binding !== hashToken(binding)) {
      throw new UserError("ERR_PASSKEY_CEREMONY", "the passkey prompt expired or was already used; try again");
    }
    return c;
  }
}

function parseJson<T>(text: string): T {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== "object" || value === null) throw new Error("not an object");
    return value as T;
  } catch {
    throw new UserError("ERR_PASSKEY_RESPONSE", "the passkey response is not valid JSON");
  }
}
