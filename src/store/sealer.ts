import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from "node:crypto";
import { StoreError } from "./errors.ts";

/** Envelope layout: version (1) ‖ nonce (12) ‖ ciphertext (n) ‖ GCM tag (16). */
const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES;

/**
 * AES-256-GCM encryption for values at rest, one subkey per purpose.
 * `aad` names where the value is stored (e.g. `upstream-tokens/alice:cloudflare`): a ciphertext
 * copied to another record, purpose or store fails to open.
 */
export interface Sealer {
  readonly purpose: string;
  seal(plaintext: Uint8Array | string, aad: string): Uint8Array;
  /** Throws `StoreError` `ERR_DECRYPT` on any tampering, wrong key or wrong `aad`. */
  open(envelope: Uint8Array, aad: string): Uint8Array;
  openString(envelope: Uint8Array, aad: string): string;
}

export function createSealer(purpose: string, key: KeyObject): Sealer {
  const open = (envelope: Uint8Array, aad: string): Uint8Array => {
    if (!(envelope instanceof Uint8Array)) throw new TypeError("sealer: envelope must be a Uint8Array");
    if (envelope.length < HEADER_BYTES + TAG_BYTES) {
      throw decryptError(purpose, aad, "envelope is truncated");
    }
    if (envelope[0] !== VERSION) throw decryptError(purpose, aad, `unknown envelope version ${envelope[0]}`);
    const nonce = envelope.subarray(1, HEADER_BYTES);
    const tag = envelope.subarray(envelope.length - TAG_BYTES);
    const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(aad));
    decipher.setAuthTag(tag);
    try {
      const head = decipher.update(envelope.subarray(HEADER_BYTES, envelope.length - TAG_BYTES));
      return Buffer.concat([head, decipher.final()]);
    } catch (err) {
      throw decryptError(purpose, aad, "authentication failed (tampered data, wrong key or wrong location)", err);
    }
  };

  return {
    purpose,
    // Random 96-bit nonces: NIST SP 800-38D caps a key at 2^32 of them; each purpose has its own
    // subkey and stays far below that.
    seal(plaintext, aad) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData(aad));
      const data = typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext;
      const body = Buffer.concat([cipher.update(data), cipher.final()]);
      return Buffer.concat([Uint8Array.of(VERSION), nonce, body, cipher.getAuthTag()]);
    },
    open,
    openString: (envelope, aad) => Buffer.from(open(envelope, aad)).toString("utf8"),
  };
}

/** The version byte is authenticated too, so it cannot be swapped for a future format's. */
function associatedData(aad: string): Buffer {
  if (typeof aad !== "string" || aad.length === 0) throw new TypeError("sealer: aad must be a non-empty string naming where the value is stored");
  return Buffer.concat([Uint8Array.of(VERSION), Buffer.from(aad, "utf8")]);
}

function decryptError(purpose: string, aad: string, reason: string, cause?: unknown): StoreError {
  return new StoreError("ERR_DECRYPT", `cannot open sealed value (${purpose}, ${aad}): ${reason}`, { cause });
}
