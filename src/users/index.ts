/**
 * Users of the authorization server (DESIGN §2 step 6, issue 5 items 3–4):
 * - `startUsers(...)`: the login, enrollment, account, consent pages and `/oauth2/authorize`
 *   (RouteModule), the `UserDirectory`, the `AuthorizationResumer` the broker's step resumes
 *   through, and the "users" AdminArea serve's admin socket (src/admin) offers to `sluice user`.
 * - `userDirectory(config, store)`: the `UserDirectory` on its own (for startOAuth, started first).
 * - `openUserAdmin(...)`: the same admin operations straight on an open store (CLI, serve stopped).
 * - `validateUserName`, `userSpiffeId`, `codeSubject`: the naming and token-subject rules.
 */
import type { Elysia } from "elysia";
import type { AuditLog } from "../audit/index.ts";
import type { SluiceConfig } from "../config/index.ts";
import type { Logger } from "../log/index.ts";
import type { AuthorizationCodes, AuthorizationResumer, AuthorizationStep, ClientRegistry, ResourceValidator, TokenRevoker, UserDirectory } from "../oauth/types.ts";
import { StoreTokenRevoker } from "../oauth/index.ts";
import type { RouteModule } from "../server/http.ts";
import type { Store } from "../store/index.ts";
import { UserAccounts } from "./accounts.ts";
import type { AdminArea } from "../admin/index.ts";
import { UserAdmin, usersAdminArea, type AdminRequest } from "./admin/operations.ts";
import { AuthorizationFlow } from "./authorize/flow.ts";
import { Consents } from "./consents.ts";
import { cookiePolicy } from "./cookies.ts";
import { Csrf } from "./csrf.ts";
import { Enrollments } from "./enrollments.ts";
import { Passkeys, relyingParty } from "./passkeys.ts";
import { mountAccount } from "./routes/account.ts";
import { mountAuthorize } from "./routes/authorize.ts";
import { mountEnroll } from "./routes/enroll.ts";
import { mountLogin } from "./routes/login.ts";
import { Sessions } from "./sessions.ts";
import { Web } from "./web.ts";

export { validateUserName, userSpiffeId, UserError, USER_NAME } from "./names.ts";
export { codeSubject, PENDING_TTL_SECONDS } from "./authorize/flow.ts";
export { relyingParty } from "./passkeys.ts";
export { UserAdmin, usersAdminArea, type AdminRequest, type EnrollmentLink, type UserSummary, type PasskeySummary, type ConsentSummary } from "./admin/operations.ts";

export interface UsersDeps {
  readonly config: SluiceConfig;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly clients: ClientRegistry;
  readonly codes: AuthorizationCodes;
  readonly resources: ResourceValidator;
  /**
   * Run in order between consent and code issuance (the broker's upstream step goes here). A
   * function is called on every authorization, for a step that can only be built once the
   * resumer exists: `steps: () => (broker ? [broker.step] : [])`.
   */
  readonly steps?: readonly AuthorizationStep[] | (() => readonly AuthorizationStep[]);
  readonly logger: Logger;
  /** Revokes tokens when a user is removed or a consent withdrawn (startOAuth's `revoker`; default: one on `store`). */
  readonly revoker?: TokenRevoker;
  /** Login and enrollment attempts per client address (default: a burst of 10, then 20 a minute). */
  readonly attemptLimit?: { readonly ratePerSecond: number; readonly burst: number };
}

export interface UsersService {
  readonly routes: RouteModule[];
  readonly directory: UserDirectory;
  readonly resumer: AuthorizationResumer;
  readonly admin: UserAdmin;
  /** The "users" operations, for serve's admin socket (`startAdminSocket` in src/admin). */
  readonly adminArea: AdminArea<AdminRequest>;
  /** Why passkeys cannot work with this issuer (an IP address host), if so. */
  readonly passkeyProblem: string | undefined;
  stop(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 60_000;

export async function startUsers(deps: UsersDeps): Promise<UsersService> {
  const { config, store, audit } = deps;
  const logger = deps.logger.child({ component: "users" });
  const parts = userParts(config, store, deps.revoker ?? storeRevoker(config, store, audit));
  const rp = relyingParty(config.issuer);
  if (rp.problem) logger.warn("passkey login is unavailable", { reason: rp.problem });
  const passkeys = rp.rp ? new Passkeys(rp.rp, parts.accounts) : undefined;
  const sessions = new Sessions(store, { idleSeconds: config.users.sessionIdleSeconds, absoluteSeconds: config.users.sessionAbsoluteSeconds });
  const web = new Web(cookiePolicy(config.issuer), new Csrf(store.deriveKey("users-csrf"), new URL(config.issuer).origin), sessions, parts.accounts, config.users.sessionAbsoluteSeconds, logger, deps.attemptLimit);
  const flow = new AuthorizationFlow({ issuer: config.issuer, store, audit, logger, codes: deps.codes, consents: parts.consents, steps: stepsOf(deps.steps), sessionUser: (request) => web.sessionUser(request) });
  const admin = new UserAdmin({ issuer: config.issuer, audit, ...parts });

  const sweep = setInterval(() => {
    try {
      sessions.sweep();
      parts.enrollments.sweep();
      flow.sweep();
    } catch (err) {
      logger.warn("sweeping expired sessions failed", { error: err });
    }
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  const shared = { web, passkeys, rpProblem: rp.problem, audit };
  const routes: RouteModule[] = [
    {
      name: "users",
      mount(app: Elysia) {
        mountLogin(app, shared);
        mountEnroll(app, { ...shared, enrollments: parts.enrollments });
        mountAccount(app, { ...shared, consents: parts.consents });
        mountAuthorize(app, { web, issuer: config.issuer, flow, clients: deps.clients, resources: deps.resources });
      },
    },
  ];
  return {
    routes,
    directory: parts.accounts,
    resumer: flow,
    admin,
    adminArea: usersAdminArea(admin),
    passkeyProblem: rp.problem,
    async stop() {
      clearInterval(sweep);
    },
  };
}

/**
 * The `UserDirectory` alone, for parts started before `startUsers` (startOAuth needs it, and
 * startUsers needs startOAuth's codes and resources). Reads the same LMDB databases.
 */
export function userDirectory(config: SluiceConfig, store: Store): UserDirectory {
  return new UserAccounts(store, { trustDomain: config.trustDomain, spiffeIdTemplate: config.users.spiffeIdTemplate });
}

/** The admin operations on an open, writable store (the CLI when serve is not running); removals revoke tokens right there. */
export function openUserAdmin(config: SluiceConfig, store: Store, audit: AuditLog): UserAdmin {
  return new UserAdmin({ issuer: config.issuer, audit, ...userParts(config, store, storeRevoker(config, store, audit)) });
}

function stepsOf(steps: UsersDeps["steps"]): () => readonly AuthorizationStep[] {
  if (typeof steps === "function") return steps;
  const fixed = steps ?? [];
  return () => fixed;
}

function userParts(config: SluiceConfig, store: Store, revoker: TokenRevoker) {
  return {
    accounts: new UserAccounts(store, { trustDomain: config.trustDomain, spiffeIdTemplate: config.users.spiffeIdTemplate }),
    enrollments: new Enrollments(store, config.users.enrollmentTtlSeconds),
    consents: new Consents(store, revoker),
    revoker,
  };
}

/** The token side's revoker on the store alone (serve stopped, or no startOAuth in this process). */
function storeRevoker(config: SluiceConfig, store: Store, audit: AuditLog): TokenRevoker {
  return new StoreTokenRevoker({ store, audit, accessTokenTtlSeconds: config.oauth.accessTokenTtlSeconds });
}
