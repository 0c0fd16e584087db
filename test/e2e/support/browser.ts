/**
 * The browser side of the double auth flow, in Chromium (playwright-core) with a CDP virtual
 * authenticator: passkey enrollment from `sluice user add`'s one-time link, sluice's consent
 * (after the passkey login), and the upstream AS's login + consent (oidc-provider dev interactions).
 */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { KernelServe } from "./kernel-serve.ts";

const CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** A fresh context with a virtual passkey authenticator, the user enrolled through `sluice user add`'s link. */
export async function enrolledUser(browser: Browser, sluice: KernelServe, user: string): Promise<{ context: BrowserContext; page: Page }> {
  const added = await sluice.sluice(["user", "add", user, "--json"]);
  if (added.code !== 0) throw new Error(`sluice user add failed (${added.code}): ${added.stderr}`);
  const enrollUrl = (JSON.parse(added.stdout) as { url: string }).url;
  const context = await browser.newContext({ ignoreHTTPSErrors: true }); // the upstream AS runs on the test CA
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.goto(enrollUrl);
  await page.getByRole("button", { name: "Create passkey" }).click();
  await page.waitForURL(/\/account/);
  return { context, page };
}

/**
 * Allows on sluice's consent page (already open in `page`), then logs in and consents at the
 * upstream AS, until the browser lands on the agent's loopback `/callback`.
 */
export async function consentAndUpstreamLogin(page: Page, upstreamIssuer: string, upstreamAccount: string): Promise<void> {
  const upstreamHost = new URL(upstreamIssuer).host;
  await page.getByRole("button", { name: "Allow" }).click();
  // The broker's step sent the browser to the upstream AS (oidc-provider's dev login + consent).
  await page.waitForURL((u) => u.host === upstreamHost);
  await page.fill('input[name="login"]', upstreamAccount);
  await page.fill('input[name="password"]', "any");
  await page.click('button[type="submit"]');
  await page.waitForURL((u) => u.host === upstreamHost && !u.pathname.includes("login"), { timeout: 10_000 }).catch(() => {});
  if ((await page.textContent("body"))?.includes("Authorize")) await page.click('button[type="submit"]');
  await page.waitForURL((u) => u.hostname === "127.0.0.1" && u.pathname === "/callback", { timeout: 15_000 });
}
