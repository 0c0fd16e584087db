/** What every page handler needs: cookies, the session, CSRF tokens and checks, rate limits, error pages. */
import { OAuthError } from "../oauth/types.ts";
import { RateLimiter } from "../oauth/index.ts";
import type { Logger } from "../log/index.ts";
import type { UserRecord } from "../oauth/types.ts";
import { toUserRecord, type UserAccounts } from "./accounts.ts";
import { clearCookie, readCookies, setCookie, type CookiePolicy } from "./cookies.ts";
import type { Csrf } from "./csrf.ts";
import { BadRequest } from "./http.ts";
import { UserError } from "./names.ts";
import { errorPage } from "./pages/views.ts";
import { randomToken } from "./secrets.ts";
import type { ActiveSession, Sessions } from "./sessions.ts";

export interface RequestState {
  readonly request: Request;
  readonly ip: string;
  /** The CSRF cookie (a fresh one when the browser had none: `setCookies` carries it). */
  readonly csrfCookie: string;
  readonly session: ActiveSession | undefined;
  /** Set-Cookie headers every response to this request must carry. */
  readonly setCookies: string[];
}

/** Login and enrollment attempts per client address: a burst of 10, then 20 a minute. */
export const DEFAULT_ATTEMPT_LIMIT = { ratePerSecond: 20 / 60, burst: 10 } as const;

export class Web {
  readonly attempts: RateLimiter;

  constructor(
    readonly cookies: CookiePolicy,
    readonly csrf: Csrf,
    readonly sessions: Sessions,
    readonly accounts: UserAccounts,
    readonly sessionAbsoluteSeconds: number,
    private readonly logger: Logger,
    attemptLimit: { ratePerSecond: number; burst: number } = DEFAULT_ATTEMPT_LIMIT,
  ) {
    this.attempts = new RateLimiter(attemptLimit);
  }

  state(request: Request, ip: string | undefined): RequestState {
    const jar = readCookies(request.headers.get("cookie"));
    const setCookies: string[] = [];
    let csrfCookie = jar.get(this.cookies.names.csrf);
    if (!csrfCookie || !/^[A-Za-z0-9_-]{22,64}$/.test(csrfCookie)) {
      csrfCookie = randomToken(24);
      setCookies.push(setCookie(this.cookies, this.cookies.names.csrf, csrfCookie));
    }
    const sessionCookie = jar.get(this.cookies.names.session);
    let session = this.sessions.lookup(sessionCookie);
    if (session && !this.accounts.account(session.record.user)) session = undefined;
    // An ended or unknown session: drop the browser's cookie too.
    if (sessionCookie !== undefined && !session) setCookies.push(this.clearSessionCookie());
    return { request, ip: ip ?? "unknown", csrfCookie, session, setCookies };
  }

  /** The user of the request's live session, read only (no Set-Cookie): for checks outside a page, like the broker's upstream callback. */
  sessionUser(request: Request): UserRecord | undefined {
    const session = this.sessions.lookup(readCookies(request.headers.get("cookie")).get(this.cookies.names.session));
    const account = session && this.accounts.account(session.record.user);
    return account && toUserRecord(account);
  }

  csrfToken(s: RequestState): string {
    return this.csrf.token(s.csrfCookie, s.session?.key);
  }

  /** Throws BadRequest(403) unless the POST carries a valid token for this browser and session and comes from our origin. */
  checkCsrf(s: RequestState, form: URLSearchParams): void {
    const problem = this.csrf.check({ cookie: s.csrfCookie, sessionKey: s.session?.key, token: form.get("csrf"), origin: s.request.headers.get("origin"), referer: s.request.headers.get("referer") });
    if (problem) throw new BadRequest(`request refused: ${problem}`, 403);
  }

  rateLimit(s: RequestState, what: string): void {
    const decision = this.attempts.take(`${what}|${s.ip}`);
    if (!decision.ok) throw new BadRequest(`too many attempts; wait ${decision.retryAfterSeconds} seconds`, 429);
  }

  sessionCookie(id: string): string {
    return setCookie(this.cookies, this.cookies.names.session, id, this.sessionAbsoluteSeconds);
  }

  clearSessionCookie(): string {
    return clearCookie(this.cookies, this.cookies.names.session);
  }

  /** Adds the request's pending Set-Cookie headers to a response. */
  finish(s: RequestState, response: Response): Response {
    for (const c of s.setCookies) response.headers.append("set-cookie", c);
    return response;
  }

  /** Any error as a page (or JSON for the fetch() calls of the WebAuthn script); never a stack trace. */
  failure(s: RequestState, err: unknown, json = false): Response {
    let status = 400;
    let message: string;
    if (err instanceof BadRequest) (status = err.status), (message = err.message);
    else if (err instanceof UserError) message = err.message;
    else if (err instanceof OAuthError) (status = err.status), (message = err.description);
    else {
      this.logger.error("users page failed", { path: new URL(s.request.url).pathname, error: err });
      status = 500;
      message = "internal error; see the sluice log";
    }
    const response = json
      ? new Response(JSON.stringify({ error: status === 500 ? "server_error" : "bad_request", message }), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } })
      : errorPage({ title: status === 403 ? "Request refused" : status === 429 ? "Slow down" : "Something went wrong", message, status });
    return this.finish(s, response);
  }
}

/** Where to go after login: only our own pages (no open redirect). */
export function safeReturnTo(value: string | null | undefined): string {
  // Control characters or spaces cannot be in a Location header (and never are in the encoded URLs sluice builds).
  if (!value || value.length > 8192 || /[\x00-\x20\x7f]/.test(value)) return "/account";
  if (value === "/account" || value.startsWith("/oauth2/authorize?")) return value;
  return "/account";
}
