/**
 * End-to-end, in headless Chromium against a real aggregator: what changes while the page loads
 * reaches the page. The page's first load (REST) and its live stream are separate connections;
 * the stream carries only what is published after it is subscribed. A change published between
 * the first load's answers and the subscription was lost until a reload (CI once saw a round stay
 * "evaluating" on the page after it committed). The stream's first message is held here, with
 * Playwright's WebSocket routing, to put a change in exactly that gap.
 *
 * Needs the built dashboard (`npm run build`, which `npm test` does) and Chromium at
 * /usr/bin/chromium (or FINSECURE_CHROMIUM).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAggregator } from '@finsecure/aggregator';
import {
  ADMIN,
  api,
  cleanup,
  createBank,
  startTestAggregator,
  tempDir,
} from '../../aggregator/test/helpers/federation.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DASHBOARD_DIST = path.join(ROOT, 'packages/dashboard/dist');
const CHROMIUM = process.env.FINSECURE_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) console.warn(`live snapshot e2e skipped: no Chromium at ${CHROMIUM}`);

/** Waits until the page's live stream is open (its hello arrived). */
const streamOpen = (page: Page) =>
  expect
    .poll(() => page.locator('[data-testid="live-indicator"]').getAttribute('data-state'), { timeout: 10_000 })
    .toBe('open');

const bankRow = (page: Page, id: string) => page.locator(`[data-testid="bank-row"][data-bank-id="${id}"]`);

describe.skipIf(!haveChromium && !process.env.CI)('dashboard: changes reach an open page (browser)', () => {
  let dir: string;
  let agg: RunningAggregator;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(path.join(DASHBOARD_DIST, 'index.html')))
      throw new Error(`${DASHBOARD_DIST}/index.html is missing: run "npm run build" first (npm test does)`);
    dir = tempDir('finsecure-live-snapshot-e2e-');
    agg = await startTestAggregator(dir, { dashboardDir: DASHBOARD_DIST });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await agg?.close();
    if (dir) cleanup(dir);
  });

  /** A signed-in admin page whose live stream waits for `open()` before it subscribes. */
  async function pageWithHeldStream(): Promise<{ page: Page; open: () => void; errors: string[] }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    await page.routeWebSocket(/\/ws\/events$/, (ws) => {
      const server = ws.connectToServer();
      // The page's first message (its credential) is what subscribes it on the aggregator.
      ws.onMessage(async (message) => {
        await opened;
        server.send(message);
      });
    });
    await page.goto(agg.url);
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: 10_000 });
    await page.fill('[data-testid="login-token"]', ADMIN);
    await page.click('[data-testid="login-submit"]');
    await page.locator('[data-testid="overview"]').waitFor({ timeout: 15_000 });
    return { page, open, errors };
  }

  it('shows a bank registered after the first load answered and before the stream opened', async () => {
    const { page, open, errors } = await pageWithHeldStream();
    // The first load has answered: the page shows the banks it returned, and not the one to come.
    await page.locator('[data-testid="banks-empty"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="live-indicator"]').getAttribute('data-state')).not.toBe('open');
    await createBank(agg, 'bank-in-the-gap');
    open();
    await streamOpen(page);
    await expect.poll(() => bankRow(page, 'bank-in-the-gap').count(), { timeout: 10_000 }).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a bank registered while the stream is open, without a reload', async () => {
    const { page, open, errors } = await pageWithHeldStream();
    open();
    await streamOpen(page);
    await bankRow(page, 'bank-in-the-gap').waitFor({ timeout: 10_000 });
    // The stream's own load has answered too (it started on open): only the stream can bring this one.
    await page.waitForLoadState('networkidle');
    await createBank(agg, 'bank-later');
    await expect.poll(() => bankRow(page, 'bank-later').count(), { timeout: 10_000 }).toBe(1);
    // ...and a revoked bank shows as revoked, though it was never connected (no detach to announce it).
    expect((await api(agg, 'DELETE', '/api/banks/bank-later')).status).toBe(200);
    await expect.poll(() => bankRow(page, 'bank-later').innerText(), { timeout: 10_000 }).toMatch(/revoked/i);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a change of the settings without a reload: the round budget, the rules, the config panel', async () => {
    const { page, open, errors } = await pageWithHeldStream();
    open();
    await streamOpen(page);
    await page.waitForLoadState('networkidle');
    const before = await page.locator('[data-testid="config"]').innerText();
    const rounds = agg.federation.status().roundsConfigured + 4;
    expect((await api(agg, 'PUT', '/api/config', { rules: { rounds, minBanks: 3 } })).status).toBe(200);
    await expect
      .poll(() => page.locator('[data-testid="rounds-completed"]').innerText(), { timeout: 10_000 })
      .toMatch(new RegExp(`/\\s*${rounds}\\b`));
    await expect.poll(() => page.locator('[data-testid="config"]').innerText(), { timeout: 10_000 }).not.toBe(before);
    await expect
      .poll(() => page.locator('[data-testid="overview"]').innerText(), { timeout: 10_000 })
      .toMatch(/3 needed per round/);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
