/**
 * End-to-end, in headless Chromium against a real aggregator: the inactivity sign-out of a
 * session that two tabs share. Each tab counts down its own guess of the session's deadline; a
 * tab left idle while the person works in another must not end the session they are using. The
 * browser's clock is Playwright's, the sessions' clock on the aggregator is the test's: each is moved
 * past a deadline on its own.
 *
 * Needs the built dashboard (`npm run build`, which `npm test` does) and Chromium at
 * /usr/bin/chromium (or FINSECURE_CHROMIUM).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAggregator, type RunningAggregator } from '@finsecure/aggregator';
import { aggregatorConfig, api, cleanup, quiet, tempDir } from '../../aggregator/test/helpers/federation.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DASHBOARD_DIST = path.join(ROOT, 'packages/dashboard/dist');
const CHROMIUM = process.env.FINSECURE_CHROMIUM ?? '/usr/bin/chromium';
const PASSWORD = 'ledger orbit canal 7 lantern';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) console.warn(`idle session e2e skipped: no Chromium at ${CHROMIUM}`);

describe.skipIf(!haveChromium && !process.env.CI)('dashboard: inactivity sign-out with two tabs (browser)', () => {
  let dir: string;
  let agg: RunningAggregator;
  let browser: Browser;
  let context: BrowserContext;
  /** How far the sessions' clock on the aggregator is ahead of the real one (ms). */
  let serverAhead = 0;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(DASHBOARD_DIST, 'index.html')))
      throw new Error(`${DASHBOARD_DIST}/index.html is missing: run "npm run build" first (npm test does)`);
    dir = tempDir('finsecure-idle-session-e2e-');
    // One minute of inactivity ends a session (the shortest setting).
    agg = await startAggregator(aggregatorConfig(dir, { dashboardDir: DASHBOARD_DIST, sessionIdleMinutes: 1 }), {
      logger: quiet,
      people: { now: () => Date.now() + serverAhead },
    });
    const created = await api(agg, 'POST', '/api/users', { username: 'aud', role: 'auditor', password: PASSWORD });
    expect(created.status).toBe(201);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
    context = await browser.newContext();
    await context.clock.install();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await agg?.close();
    if (dir) cleanup(dir);
  });

  async function openTab(): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(agg.url);
    return page;
  }

  async function signIn(p: Page): Promise<void> {
    await p.locator('[data-testid="login-form"]').waitFor({ timeout: 10_000 });
    await p.fill('[data-testid="login-username"]', 'aud');
    await p.fill('[data-testid="login-password"]', PASSWORD);
    await p.click('[data-testid="login-submit"]');
    await p.locator('[data-testid="overview"]').waitFor({ timeout: 15_000 });
  }

  /** Whether the session cookie the tabs share is still a session on the aggregator. */
  const sessionAlive = async () => (await context.request.get(`${agg.url}/api/whoami`)).status() === 200;
  const signedOut = (page: Page) => page.locator('[data-testid="login-form"]').count();

  it('a tab past its own deadline asks the aggregator, and leaves alone a session that is still alive', async () => {
    const a = await openTab();
    await signIn(a);
    const b = await openTab(); // the same session, by its cookie
    await b.locator('[data-testid="overview"]').waitFor({ timeout: 15_000 });
    expect(await sessionAlive()).toBe(true);

    // Both tabs' clocks pass their deadline; what a tab does then is a request to the aggregator.
    const asked = a.waitForRequest((r) => /\/api\/(whoami|auth\/logout)$/.test(r.url()), { timeout: 10_000 });
    await context.clock.fastForward(61_000);
    const request = await asked;
    expect(request.method()).toBe('GET'); // a look-up, not a sign-out
    await a.waitForLoadState('networkidle');
    expect(await sessionAlive()).toBe(true);
    expect(await signedOut(a)).toBe(0);
    expect(await signedOut(b)).toBe(0);
    // The aggregator's deadline (a minute ahead of its clock) replaced the tab's guess.
    await expect
      .poll(() => a.locator('[data-testid="idle-warning"]').innerText(), { timeout: 5000 })
      .toMatch(/signed out in (1:00|0:[45]\d) /);

    // Now the session does end on the aggregator (its clock passes the idle minute): the idle tab finds
    // out (at its next deadline, or from a request the aggregator refuses first) and signs itself out,
    // with the reason; so does the other.
    serverAhead = 61_000;
    expect(await sessionAlive()).toBe(false);
    await context.clock.fastForward(61_000);
    for (const tab of [a, b]) {
      await tab.locator('[data-testid="login-form"]').waitFor({ timeout: 10_000 });
      expect(await tab.locator('[data-testid="login-notice"]').innerText()).toMatch(/inactivity|session has ended/);
    }
    expect(errors).toEqual([]);
  }, 60_000);
});
