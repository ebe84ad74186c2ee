/**
 * What every bank-console browser test shares: where the built app and Chromium are, whether the
 * test can run here (skipped with a warning outside CI when either is missing), a headless page
 * that records page errors, and signing in through the login form.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PASSWORD } from './console.js';

export const APP_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../console/dist');
export const CHROMIUM = process.env.FINSECURE_CHROMIUM ?? '/usr/bin/chromium';

/** True when Chromium and the built console exist, or under CI (where a missing one must fail). */
export function browserReady(what: string): boolean {
  const ready = existsSync(CHROMIUM) && existsSync(path.join(APP_DIST, 'index.html'));
  if (!ready && !process.env.CI)
    console.warn(`${what} skipped: needs ${CHROMIUM} and a built ${APP_DIST} (npm run build)`);
  return ready || !!process.env.CI;
}

/** Headless Chromium (the Debian package's flags) and a 1366×900 page; page errors go to `errors`. */
export async function openPage(
  errors: string[],
  options: { acceptDownloads?: boolean } = {},
): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 }, ...options });
  page.on('pageerror', (e) => errors.push(e.message));
  return { browser, page };
}

/** Opens the console at `url` and signs in as `username` (the test password); waits for the header. */
export async function signIn(page: Page, url: string, username: string): Promise<void> {
  await page.goto(url);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('whoami').waitFor();
}
