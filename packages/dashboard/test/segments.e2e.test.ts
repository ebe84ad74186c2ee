/**
 * End-to-end: the dashboard's Segments view in headless Chromium, over a real aggregator
 * (in-process) with three real bank clients (in-process) whose files carry customer ids. An
 * admin starts a segmentation with the button; the table of centres, names, noised sizes and
 * fraud rates renders, and the read-only viewer sees it without the button.
 *
 * Needs the built dashboard (`npm run build -w @finsecure/dashboard`) and Chromium at
 * /usr/bin/chromium (or FINSECURE_CHROMIUM).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BankClient } from '@finsecure/bank-client';
import type { RunningAggregator } from '@finsecure/aggregator';
import {
  ADMIN,
  api,
  cleanup,
  createBank,
  startBank,
  startTestAggregator,
  tempDir,
  VIEWER,
  waitFor,
} from '../../aggregator/test/helpers/federation.js';
import { writeCustomerShard } from '../../aggregator/test/helpers/customers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DASHBOARD_DIST = path.join(ROOT, 'packages/dashboard/dist');
const SHOTS = path.join(ROOT, 'test-output/dashboard');
const CHROMIUM = process.env.FINSECURE_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) console.warn(`segments e2e skipped: no Chromium at ${CHROMIUM}`);

describe.skipIf(!haveChromium && !process.env.CI)('dashboard Segments view (browser)', () => {
  let dir: string;
  let agg: RunningAggregator;
  let browser: Browser;
  const banks: BankClient[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(DASHBOARD_DIST, 'index.html')))
      throw new Error(`${DASHBOARD_DIST}/index.html is missing: run "npm run build" first (npm test does)`);
    mkdirSync(SHOTS, { recursive: true });
    dir = tempDir('finsecure-segments-e2e-');
    agg = await startTestAggregator(dir, { dashboardDir: DASHBOARD_DIST });
    for (const [i, id] of ['bank-a', 'bank-b', 'bank-c'].entries()) {
      const file = path.join(dir, `${id}.csv`);
      writeCustomerShard(file, { seed: 31 + i, rows: 500, customers: 40 });
      banks.push(await startBank(agg, id, await createBank(agg, id), file, path.join(dir, `state-${id}`)));
    }
    await waitFor('three banks', async () => {
      const r = await api<{ connected: boolean }[]>(agg, 'GET', '/api/banks');
      return r.body.filter((b) => b.connected).length === 3;
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const b of banks) b.stop();
    await agg?.close();
    if (dir) cleanup(dir);
  });

  async function signIn(token: string) {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(agg.url);
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: 10_000 });
    await page.fill('[data-testid="login-token"]', token);
    await page.click('[data-testid="login-submit"]');
    await page.locator('[data-testid="overview"]').waitFor({ timeout: 15_000 });
    return { page, errors };
  }

  it('an admin starts a segmentation and the table of segments renders', async () => {
    const { page, errors } = await signIn(ADMIN);
    await page.locator('[data-testid="segments-empty"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="nav-segments"]').count()).toBe(1);
    await page.fill('[data-testid="segments-k"]', '3');
    await page.click('[data-testid="segments-start"]');
    await page.locator('[data-testid="segments-table"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="segment-row"]').count()).toBe(3);
    const text = await page.locator('[data-testid="segments"]').innerText();
    expect(text).toMatch(/Mean amount/);
    expect(text).toMatch(/Night share/);
    expect(text).toMatch(/Customers \(noised\)/);
    // The button asks for differential privacy (banks decline exact jobs by default): ε is spent.
    expect(await page.locator('[data-testid="segments-epsilon"]').innerText()).toMatch(/^\d+\.\d\d$/);
    await page.locator('[data-testid="segments"]').screenshot({ path: path.join(SHOTS, 'segments.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the read-only viewer token sees the segments but no button to start one', async () => {
    const { page } = await signIn(VIEWER);
    await page.locator('[data-testid="segments-table"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="segments-start"]').count()).toBe(0);
    await page.close();
  }, 30_000);
});
