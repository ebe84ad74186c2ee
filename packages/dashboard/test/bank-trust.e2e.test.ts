/**
 * End-to-end, in headless Chromium against a real aggregator (real HTTP, real SQLite): the
 * per-bank trust view. Stored rounds give bank-a two excluded rounds in a row (the rule
 * quarantineAfterExclusions = 2 quarantines it) and bank-b clean ones. The view opens from the
 * banks table, charts norm / distance / cosine over the rounds with the outlier rounds marked,
 * leads with a one-line reason, and an admin lifts the quarantine; a viewer sees no lift button.
 *
 * Needs the dashboard's dist/ (`npm run build`) and Chromium at /usr/bin/chromium (or FINSECURE_CHROMIUM).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_RULES,
  DEFAULT_TRAINING,
  loadConfig,
  startAggregator,
  type RunningAggregator,
} from '@finsecure/aggregator';
import type { BankReputation, RoundRecord } from '@finsecure/common/api';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DASHBOARD_DIST = path.join(ROOT, 'packages/dashboard/dist');
const SHOTS = path.join(ROOT, 'test-output/dashboard');
const CHROMIUM = process.env.FINSECURE_CHROMIUM ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'e2e-admin-token-trust-0123456789abcdef';
const VIEWER_TOKEN = 'e2e-viewer-token-trust-0123456789abcdef';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI)
  console.warn(
    `bank trust e2e skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set FINSECURE_CHROMIUM)`,
  );

const EXCLUDED = 'multikrum score 5000 is not among the 8 lowest of 10 (byzantineF = 2)';
const bad: BankReputation = {
  norm: 95,
  distance: 94,
  cosine: -0.97,
  score: 5000,
  excluded: EXCLUDED,
  outlier: `excluded: ${EXCLUDED}`,
};
const good = (k: number): BankReputation => ({ norm: 1 + 0.1 * k, distance: 0.5, cosine: 0.9, score: 10 });

function round(id: number, a: BankReputation, aWeight: number): RoundRecord {
  return {
    id,
    status: 'committed',
    startedAt: Date.now() - (10 - id) * 60_000,
    endedAt: Date.now() - (10 - id) * 60_000 + 1_000,
    config: {},
    selected: ['bank-a', 'bank-b'],
    participants: ['bank-a', 'bank-b'],
    banks: {
      'bank-a': { bytesUp: 1, bytesDown: 1, weight: aWeight, reputation: a },
      'bank-b': { bytesUp: 1, bytesDown: 1, weight: 1 - aWeight, reputation: good(id) },
    },
    durations: { totalMs: 1_000 },
    baseModelVersion: id - 1,
    modelVersion: id,
    metrics: { auprc: 0.5, trainLoss: 0.3 },
    failureReason: null,
  };
}

describe.skipIf(!haveChromium && !process.env.CI)("dashboard: a bank's trust view (browser)", () => {
  let dir: string;
  let agg: RunningAggregator | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  async function login(token: string): Promise<void> {
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: 10_000 });
    await page.fill('[data-testid="login-token"]', token);
    await page.click('[data-testid="login-submit"]');
    await page.locator('[data-testid="overview"]').waitFor({ timeout: 15_000 });
  }

  async function openTrust(bankId: string) {
    const row = page.locator(`[data-testid="bank-row"][data-bank-id="${bankId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await row.locator('[data-testid="bank-trust-toggle"]').click();
    const view = page.locator(`[data-testid="bank-trust"][data-bank-id="${bankId}"]`);
    await view.waitFor({ timeout: 10_000 });
    return view;
  }

  /** The aggregator on `dir` (again after a restart: it counts what the store holds then). */
  function start(): Promise<RunningAggregator> {
    return startAggregator(
      loadConfig({
        flags: {
          host: '127.0.0.1',
          port: 0,
          dataDir: dir,
          adminToken: ADMIN_TOKEN,
          viewerToken: VIEWER_TOKEN,
          autoStart: false,
          dashboardDir: DASHBOARD_DIST,
          logLevel: 'warn',
          rules: { ...DEFAULT_RULES, quarantineAfterExclusions: 2 },
          training: { ...DEFAULT_TRAINING },
        },
      }),
    );
  }

  beforeAll(async () => {
    if (!existsSync(path.join(DASHBOARD_DIST, 'index.html')))
      throw new Error(`${DASHBOARD_DIST}/index.html is missing: run "npm run build" first (npm test does)`);
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(path.join(tmpdir(), 'finsecure-dashboard-trust-'));
    agg = await start();
    for (const id of ['bank-a', 'bank-b']) {
      const res = await fetch(`${agg.url}/api/banks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id }),
      });
      expect(res.status).toBe(201);
    }
    await agg.store.saveRound(round(1, good(1), 0.5));
    await agg.store.saveRound(round(2, good(2), 0.5));
    await agg.store.saveRound(round(3, bad, 0));
    await agg.store.saveRound(round(4, bad, 0));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await agg?.close().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('charts the rounds, marks the outliers, says why, and lets an admin lift the quarantine', async () => {
    await page.goto(agg!.url);
    await login(ADMIN_TOKEN);
    // The table flags the bank before the view is open.
    const toggle = page.locator('[data-testid="bank-row"][data-bank-id="bank-a"] [data-testid="bank-trust-toggle"]');
    await toggle.waitFor({ timeout: 15_000 });
    expect(await toggle.textContent()).toContain('outlier');
    const view = await openTrust('bank-a');
    expect(await view.locator('[data-testid="bank-trust-reason"]').textContent()).toBe(
      `excluded Quarantined since round 4: excluded in 2 consecutive rounds (last: excluded: ${EXCLUDED}).`,
    );
    const chart = view.locator('[data-testid="bank-trust-chart"]');
    expect(await chart.getAttribute('data-points')).toBe('4');
    await chart.locator('.recharts-line').first().waitFor({ timeout: 10_000 });
    expect(await chart.locator('.recharts-line').count()).toBe(3);
    // Rounds 3 and 4 are marked on each of the three lines.
    expect(await chart.locator('circle[data-outlier="true"]').count()).toBe(6);
    const quarantine = view.locator('[data-testid="bank-quarantine"]');
    expect(await quarantine.getAttribute('data-quarantined')).toBe('true');
    await page.screenshot({ path: path.join(SHOTS, 'trust-01-quarantined.png'), fullPage: true });

    await view.locator('[data-testid="bank-quarantine-lift"]').click();
    await expect.poll(() => quarantine.getAttribute('data-quarantined'), { timeout: 10_000 }).toBe('false');
    expect(await quarantine.textContent()).toMatch(/Last lifted by \S+ after round 4\./);
    const audit = (await (
      await fetch(`${agg!.url}/api/audit`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json()) as {
      type: string;
    }[];
    expect(audit.some((e) => e.type === 'bank.quarantine_lifted')).toBe(true);

    // A clean bank: no outlier, a plain reason.
    const b = await openTrust('bank-b');
    expect(await b.locator('[data-testid="bank-trust-reason"]').textContent()).toBe(
      'trusted No outlier in its last 4 round(s).',
    );
    expect(await b.locator('circle[data-outlier="true"]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('shows a viewer the view without the lift button', async () => {
    // Quarantine bank-a again: two more excluded rounds after the lift.
    await agg!.store.saveRound(round(5, bad, 0));
    await agg!.store.saveRound(round(6, bad, 0));
    // Written behind the federation's back (it counts the rounds it runs): a restart counts them.
    await agg!.close();
    agg = await start();
    const context = await browser!.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(agg!.url);
    await login(VIEWER_TOKEN);
    const view = await openTrust('bank-a');
    expect(await view.locator('[data-testid="bank-quarantine"]').getAttribute('data-quarantined')).toBe('true');
    expect(await view.locator('[data-testid="bank-quarantine-lift"]').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'trust-02-viewer.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 60_000);
});
