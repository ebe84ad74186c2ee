/**
 * End to end, in headless Chromium: a real aggregator running the secure-aggregation workflow
 * (SecAgg+) and three in-process bank clients over real sockets. The round detail says secure
 * aggregation was on, lists every stage of the secagg workflow with its answered count and time,
 * and each bank's share of the pooled evaluation. Screenshots go to /tmp/secagg-*.png.
 *
 * Needs the dashboard's dist/ (`npm run build`) and Chromium at /usr/bin/chromium (or FINSECURE_CHROMIUM).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BankClient } from '@finsecure/bank-client';
import type { RunningAggregator } from '@finsecure/aggregator';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  api,
  cleanup,
  createBank,
  startBank,
  startTestAggregator,
  tempDir,
  waitRounds,
  writeShards,
} from '../../aggregator/test/helpers/federation.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DASHBOARD_DIST = path.join(ROOT, 'packages/dashboard/dist');
const CHROMIUM = process.env.FINSECURE_CHROMIUM ?? '/usr/bin/chromium';
const BANKS = ['bank-a', 'bank-b', 'bank-c'];
const SECAGG_STAGES = ['advertise_keys', 'share_keys', 'masked_fit', 'consistency_check', 'unmask'];

const haveChromium = existsSync(CHROMIUM);

describe.skipIf(!haveChromium && !process.env.CI)('dashboard: a secure-aggregation round (browser)', () => {
  const dir = tempDir('finsecure-dashboard-secagg-');
  let agg: RunningAggregator | undefined;
  const clients: BankClient[] = [];
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(DASHBOARD_DIST, 'index.html')))
      throw new Error(`${DASHBOARD_DIST}/index.html is missing: run "npm run build" first (npm test does)`);
    const shards = await writeShards(path.join(dir, 'shards'), BANKS.length, 400);
    agg = await startTestAggregator(path.join(dir, 'agg'), {
      seed: 7,
      dashboardDir: DASHBOARD_DIST,
      rules: { rounds: 1, minBanks: 3, quorum: 3, secureAggregation: true } as never,
      training: { smoteRatio: 0 } as never,
    });
    for (const [i, id] of BANKS.entries()) {
      const token = await createBank(agg, id);
      clients.push(await startBank(agg, id, token, shards[i]!, path.join(dir, id), { seed: 11 + i }));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    for (const c of clients.splice(0)) c.stop();
    await agg?.close().catch(() => {});
    cleanup(dir);
  }, 30_000);

  it('shows secure aggregation on, each stage with its time, and no per-bank evaluation', async () => {
    await api(agg!, 'POST', '/api/training/start');
    const rounds = await waitRounds(agg!, (r) => r.some((x) => x.status === 'committed'), 'a committed round', 90_000);
    const round = rounds.find((r) => r.status === 'committed')!;
    // What the page must show, from the stored round.
    expect(round.stages?.map((s) => s.name).slice(0, SECAGG_STAGES.length)).toEqual(SECAGG_STAGES);

    await page.goto(agg!.url);
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: 10_000 });
    await page.fill('[data-testid="login-token"]', ADMIN);
    await page.click('[data-testid="login-submit"]');
    await page.locator('[data-testid="overview"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="config-secure-aggregation"]').textContent()).toBe(
      'on (SecAgg+: masked updates)',
    );
    await page.locator('[data-testid="round-row"][data-status="committed"]').first().click();
    const detail = page.locator('[data-testid="round-detail"]');
    await detail.waitFor({ timeout: 10_000 });
    await detail.locator('[data-testid="secure-aggregation-on"]').waitFor({ timeout: 5_000 });

    const rows = detail.locator('[data-testid="stage-row"]');
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-stage')))).toEqual(
      round.stages!.map((s) => s.name),
    );
    for (const [i, s] of round.stages!.entries()) {
      const row = rows.nth(i);
      expect((await row.locator('td').nth(1).textContent())?.replace(/\s+/g, ' ')).toBe(`${s.answered} / ${s.asked}`);
      expect(await row.locator('[data-testid="stage-ms"]').textContent()).not.toBe('—');
      expect(await row.locator('[data-testid="stage-dropped"]').textContent()).toBe(
        Object.keys(s.dropped).length === 0 ? 'none' : `${Object.keys(s.dropped).length} dropped`,
      );
    }
    // The evaluation is a secure sum too: pooled metrics for the round, nothing per bank.
    expect(round.metrics?.auprc).toBeGreaterThan(0);
    for (const id of BANKS) {
      expect(round.banks[id]?.evaluationShare).toBeUndefined();
      expect(round.banks[id]?.metrics).toBeUndefined();
      const cell = detail.locator(
        `[data-testid="participant-row"][data-bank-id="${id}"] [data-testid="evaluation-share"]`,
      );
      expect(await cell.textContent()).toBe('masked');
      // Per-bank weights are masked coordinates: the page does not pretend to know them.
      expect(
        await detail.locator(`[data-testid="participant-row"][data-bank-id="${id}"] td`).nth(1).textContent(),
      ).toBe('masked');
    }
    await detail.screenshot({ path: '/tmp/secagg-round-detail.png' });
    await page.screenshot({ path: '/tmp/secagg-dashboard.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
