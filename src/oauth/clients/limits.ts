/** Limits on every client input (DESIGN §6): registration bodies, metadata fields, fetched documents. */
export const CLIENT_LIMITS = {
  /** A registration request or metadata document: a few hundred bytes normally. */
  maxMetadataBytes: 16 * 1024,
  /** Client ID Metadata Documents (the brief's 5 KiB cap). */
  maxDocumentBytes: 5 * 1024,
  maxJwksBytes: 8 * 1024,
  maxJwksKeys: 10,
  maxUriLength: 2000,
  maxRedirectUris: 10,
  maxStringLength: 200,
  maxScopeLength: 1000,
  maxContacts: 5,
  /** Registered clients kept at once: registration is refused beyond (expiry makes room). */
  maxClients: 10_000,
  fetchTimeoutMs: 5_000,
  /** Cache of documents: default lifetime, bounds on Cache-Control max-age, entries. */
  cacheDefaultSeconds: 300,
  cacheMinSeconds: 30,
  cacheMaxSeconds: 3600,
  cacheMaxEntries: 1000,
  /** private_key_jwt assertions: at most this far in the future (exp), remembered jtis. */
  maxAssertionLifetimeSeconds: 600,
  maxRememberedJtis: 100_000,
} as const;
