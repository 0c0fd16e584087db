/** The users area's LMDB sub-databases and the records they hold. */
import { defineDatabase } from "../store/index.ts";
import type { OAuthClient } from "../oauth/types.ts";

export interface AccountRecord {
  readonly name: string;
  readonly spiffeId: string;
  readonly admin: boolean;
  readonly displayName?: string;
  /** WebAuthn user handle (random, base64url): carries no personal data (WebAuthn §5.4.3). */
  readonly handle: string;
  readonly createdAt: number;
}

export interface PasskeyRecord {
  /** Credential ID, base64url. */
  readonly id: string;
  readonly user: string;
  readonly publicKey: Uint8Array;
  readonly counter: number;
  readonly transports?: readonly string[];
  readonly aaguid: string;
  readonly backedUp: boolean;
  readonly createdAt: number;
  readonly lastUsedAt?: number;
}

export interface EnrollmentRecord {
  readonly user: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface SessionRecord {
  readonly user: string;
  /** When the passkey login happened (OIDC auth_time). */
  readonly authTime: number;
  readonly lastSeenAt: number;
  /** The passkey used. */
  readonly passkey: string;
}

export interface ConsentRecord {
  readonly user: string;
  readonly clientId: string;
  readonly resources: readonly string[];
  readonly scopes: readonly string[];
  readonly grantedAt: number;
}

/** An authorization request between its validation and its code (or its end). */
export interface PendingRecord {
  readonly id: string;
  readonly client: OAuthClient;
  readonly user: { name: string; spiffeId: string; admin: boolean; displayName?: string };
  readonly workload?: string;
  readonly resources: readonly string[];
  readonly scopes: readonly string[];
  readonly redirectUri: string;
  readonly state?: string;
  readonly nonce?: string;
  readonly codeChallenge: string;
  readonly authTime: number;
  /** `consent`: waiting for the user's answer; `steps`: consented, running AuthorizationSteps from `nextStep`. */
  readonly stage: "consent" | "steps";
  readonly nextStep: number;
  readonly expiresAt: number;
}

/** Keyed by user name. */
export const accountsDb = defineDatabase<string, AccountRecord>({ name: "users.accounts" });
/** Keyed by credential ID (base64url). */
export const passkeysDb = defineDatabase<string, PasskeyRecord>({ name: "users.passkeys" });
/** Keyed by SHA-256 (hex) of the enrollment token: the token itself is never stored. */
export const enrollmentsDb = defineDatabase<string, EnrollmentRecord>({ name: "users.enrollments" });
/** Keyed by SHA-256 (hex) of the session id. */
export const sessionsDb = defineDatabase<string, SessionRecord>({ name: "users.sessions" });
/** Keyed by [user, clientId, consent key] (ranges use prefixes of it). */
export const consentsDb = defineDatabase<string[], ConsentRecord>({ name: "users.consents" });
/** Keyed by pending authorization id. */
export const pendingDb = defineDatabase<string, PendingRecord>({ name: "users.pending" });
