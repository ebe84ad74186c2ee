/**
 * The console's Accounts page in real headless Chromium against a real console (real
 * socket, real SQLite file): an analyst uploads a transaction export, reads the account
 * report (table with reasons in words, score distribution), moves the threshold by
 * contamination and by score cut-off, exports the CSV, sees a bad file named by line and
 * column, and scores the transactions of an unlabelled file. Screenshots go to
 * /tmp/console-accounts-*.png.
 *
 * Needs the built app (packages/console/dist: `npm run build`) and Chromium at
 * /usr/bin/chromium (or FINSECURE_CHROMIUM).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCsv } from './helpers/console-accounts-data.js';
import { addPerson, cleanup, startConsole, syntheticCsv, tempDir, type RunningConsole } from './helpers/console.js';
import { APP_DIST, browserReady, openPage, signIn } from './helpers/console-browser.js';

const ready = browserReady('console accounts browser test');

describe.skipIf(!ready)('bank console Accounts page (browser)', () => {
  let dir: string;
  let c: RunningConsole;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: `/tmp/console-accounts-${name}.png`, fullPage: true });

  beforeAll(async () => {
    dir = tempDir('finsecure-console-accounts-ui-');
    c = await startConsole(dir, { appDir: APP_DIST });
    await addPerson(c, 'ana', 'analyst');
    const data = exportCsv();
    writeFileSync(path.join(dir, 'march.csv'), data);
    const lines = data.split('\n');
    lines[5] = lines[5]!.replace(/^[^,]+/, '31-02-2024 10:00');
    writeFileSync(path.join(dir, 'baddate.csv'), lines.join('\n'));
    const rows = syntheticCsv(500, 41).text.trimEnd().split('\n');
    writeFileSync(path.join(dir, 'today.csv'), rows.map((l) => l.split(',').slice(0, -1).join(',')).join('\n') + '\n');
    ({ browser, page } = await openPage(pageErrors, { acceptDownloads: true }));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await c?.close();
    if (dir) cleanup(dir);
  });

  it('upload → report with reasons and chart → threshold → CSV export', async () => {
    await signIn(page, c.url, 'ana');
    await page.getByTestId('nav-accounts').click();
    await page.getByTestId('accounts-form').waitFor();
    await shot('00-empty');

    // A bad date: named by file, line and column.
    await page.getByTestId('accounts-file').setInputFiles(path.join(dir, 'baddate.csv'));
    await page.getByTestId('accounts-submit').click();
    await page.getByTestId('accounts-error').waitFor();
    expect(await page.getByTestId('accounts-error').textContent()).toMatch(/^baddate\.csv:6: column "Timestamp": /);
    await shot('01-bad-file');

    await page.getByTestId('accounts-contamination').fill('0.02');
    await page.getByTestId('accounts-file').setInputFiles(path.join(dir, 'march.csv'));
    await page.getByTestId('accounts-submit').click();
    await page.getByTestId('accounts-report').waitFor();
    expect(await page.getByTestId('accounts-error').count()).toBe(0);
    expect(await page.getByTestId('accounts-summary').textContent()).toMatch(
      /81 accounts from [\d,]+ transactions \(export layout\), Isolation Forest: 2 flagged \(anomaly score > 0\.\d{4}\)/,
    );
    const first = page.getByTestId('accounts-row').first();
    expect(await first.textContent()).toMatch(/^WHALE.*flagged.*robust SDs above this bank's median/);
    await page.getByTestId('score-histogram').locator('svg').first().waitFor();
    await shot('02-report');
    await page.screenshot({ path: '/tmp/console-accounts-02b-report-top.png' });

    // Threshold by contamination: more flagged.
    await page.getByTestId('accounts-cut-value').fill('0.1');
    await page.getByTestId('accounts-cut-apply').click();
    await expect.poll(() => page.getByTestId('accounts-flagged').textContent()).toMatch(/^(8|9|10) flagged$/);
    // By score cut-off: only rows strictly above it.
    const score = Number((await first.locator('td').nth(1).textContent())!);
    await page.getByTestId('accounts-cut-kind').selectOption('cutoff');
    await page.getByTestId('accounts-cut-value').fill(String(score - 0.00005));
    await page.getByTestId('accounts-cut-apply').click();
    await expect.poll(() => page.getByTestId('accounts-flagged').textContent()).toBe('1 flagged');
    await page.getByTestId('accounts-flagged-only').check();
    await expect.poll(() => page.getByTestId('accounts-row').count()).toBe(1);
    await shot('03-cutoff');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('accounts-export').click()]);
    expect(download.suggestedFilename()).toBe('march-accounts-report.csv');
    const csv = readFileSync((await download.path())!, 'utf8')
      .trimEnd()
      .split('\n');
    expect(csv[0]).toMatch(/^account,tx_count,.*,anomaly_score,flagged,reasons$/);
    expect(csv).toHaveLength(82);
    expect(csv.filter((l) => /^[^,]+,.*,1,"/.test(l)).map((l) => l.split(',')[0])).toEqual(['WHALE']);
  });

  it('transaction-level scores of an unlabelled file', async () => {
    await page.getByTestId('accounts-mode').selectOption('transactions');
    await page.getByTestId('accounts-contamination').fill('0.01');
    await page.getByTestId('accounts-file').setInputFiles(path.join(dir, 'today.csv'));
    await page.getByTestId('accounts-submit').click();
    await expect
      .poll(() => page.getByTestId('accounts-summary').textContent())
      .toMatch(/^500 transactions from 500 transactions .*Isolation Forest: 5 flagged/);
    expect(await page.getByTestId('accounts-row').first().textContent()).toMatch(/^tx-41-\d+ \(line \d+\).*flagged/);
    await shot('04-transactions');
    // Away and back: the page offers the reports the daemon still holds, and reopens one.
    await page.getByTestId('nav-alerts').click();
    await page.getByTestId('nav-accounts').click();
    await page.getByTestId('accounts-earlier').waitFor();
    const earlier = page.locator('[data-testid^="accounts-open-"]');
    expect(await earlier.count()).toBe(2);
    await earlier.last().click(); // the oldest: the account report
    await expect.poll(() => page.getByTestId('accounts-summary').textContent()).toMatch(/accounts/);
    expect(await page.getByTestId('accounts-row').first().textContent()).toMatch(/WHALE/);
    expect(pageErrors).toEqual([]);
  });
});
