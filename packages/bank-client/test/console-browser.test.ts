/**
 * The bank console in real headless Chromium, against a real console (real socket, real
 * SQLite file, real trained model): sign in as an analyst, upload a CSV, open the alert
 * queue, open the top alert, record a decision. Screenshots go to /tmp/console-*.png.
 *
 * Needs the built app (packages/console/dist: `npm run build`) and Chromium at
 * /usr/bin/chromium (or FINSECURE_CHROMIUM).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleDb } from '../src/console/db.js';
import { generateSynthetic } from '@finsecure/common/data';
import {
  addPerson,
  cleanup,
  PASSWORD,
  startConsole,
  syntheticCsv,
  tempDir,
  writeTrainedModel,
  type RunningConsole,
} from './helpers/console.js';
import { APP_DIST, browserReady, openPage } from './helpers/console-browser.js';

const ready = browserReady('console browser test');

describe.skipIf(!ready)('bank console (browser)', () => {
  let dir: string;
  let c: RunningConsole;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: `/tmp/console-${name}.png`, fullPage: true });

  beforeAll(async () => {
    dir = tempDir('finsecure-console-ui-');
    await writeTrainedModel(dir);
    // The bank's held-out split, for the threshold and the reasons' background.
    const validation = generateSynthetic({ rows: 3000, fraudRate: 0.05, seed: 99 });
    c = await startConsole(dir, { appDir: APP_DIST, validation: { load: async () => validation } });
    await addPerson(c, 'ana', 'analyst');
    await addPerson(c, 'eng', 'ml-engineer');
    writeFileSync(path.join(dir, 'today.csv'), syntheticCsv(400, 21).text);
    const broken = syntheticCsv(20, 22).text.split('\n');
    const cells = broken[11]!.split(',');
    cells[31] = '12;5'; // Amount, with a stray separator
    broken[11] = cells.join(',');
    writeFileSync(path.join(dir, 'broken.csv'), broken.join('\n'));
    ({ browser, page } = await openPage(pageErrors));
  });

  afterAll(async () => {
    await browser?.close();
    await c?.close();
    if (dir) cleanup(dir);
  });

  const login = async (username: string) => {
    await page.getByTestId('login-username').fill(username);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('whoami').waitFor();
  };

  it('an ML engineer chooses the operating threshold by false-positive rate and sees the PR curve', async () => {
    await page.goto(c.url);
    await login('eng');
    await page.getByTestId('nav-threshold').click();
    await page.getByTestId('threshold-none').waitFor();
    await page.getByTestId('threshold-kind').selectOption('fpr');
    await page.getByTestId('threshold-value').fill('0.02');
    await page.getByTestId('threshold-submit').click();
    await page.getByTestId('threshold-current').waitFor();
    expect(await page.getByTestId('threshold-current').textContent()).toMatch(
      /false-positive rate at most 0\.02.*precision [\d.]+%, recall [\d.]+%/,
    );
    await page.getByTestId('pr-curve').locator('svg').first().waitFor();
    await shot('00-threshold');
    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor();
  });

  it('login → upload → alert list → detail → decision', async () => {
    await page.getByTestId('login-username').fill('ana');
    await page.getByTestId('login-password').fill('wrong password here');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login-error').textContent()).toMatch(/password/i);
    await shot('01-login-error');
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('whoami').waitFor();
    expect(await page.getByTestId('whoami').textContent()).toContain('analyst');
    expect(await page.getByTestId('nav-threshold').count()).toBe(1);

    await page.getByTestId('nav-score-a-file').click();
    // A malformed row: named by line and column, nothing stored.
    await page.getByTestId('upload-file').setInputFiles(path.join(dir, 'broken.csv'));
    await page.getByTestId('upload-submit').click();
    await page.getByTestId('upload-error').waitFor();
    expect(await page.getByTestId('upload-error').textContent()).toMatch(/^broken\.csv:12: column "Amount": /);
    await shot('02a-upload-error');
    await page.getByTestId('upload-file').setInputFiles(path.join(dir, 'today.csv'));
    await page.getByTestId('upload-submit').click();
    const result = page.getByTestId('upload-result');
    await result.waitFor();
    expect(await result.textContent()).toMatch(/scored 400 transactions, \d+ flagged/);
    await shot('02-upload');

    await page.getByTestId('nav-alerts').click();
    await page.getByTestId('alert-row').first().waitFor();
    const rows = await page.getByTestId('alert-row').count();
    expect(rows).toBeGreaterThan(3);
    const firstId = await page.getByTestId('alert-row').first().locator('a').textContent();
    expect(firstId).toMatch(/^tx-21-\d+$/);
    await shot('03-alerts');

    await page.getByTestId('alert-row').first().locator('a').click();
    await page.getByTestId('alert-detail').waitFor();
    await page.getByTestId('similar-table').waitFor();
    expect(await page.getByTestId('detail-score').textContent()).toMatch(/logit/);
    await page.getByTestId('reasons-chart').locator('svg').first().waitFor();
    expect(await page.getByTestId('reasons').textContent()).toMatch(
      /standard deviations? (above|below) this bank's mean.*raises the fraud score/,
    );
    await page.getByTestId('decide-confirmed_fraud').check();
    await page.getByTestId('decision-note').fill('customer confirmed the card was stolen');
    await page.getByTestId('decision-submit').click();
    await page.getByTestId('decisions').waitFor();
    expect(await page.getByTestId('decisions').textContent()).toContain('Confirmed fraud by ana');
    await shot('04-detail-decided');

    const db = new ConsoleDb(path.join(dir, 'console.sqlite'));
    try {
      expect(db.verifyAudit().ok).toBe(true);
      expect(db.listAudit().filter((e) => e.type === 'alert.decided')).toEqual([
        expect.objectContaining({
          actor: 'ana',
          details: expect.objectContaining({ transaction: firstId, decision: 'confirmed_fraud' }),
        }),
      ]);
    } finally {
      db.close();
    }

    await page.getByTestId('nav-threshold').click();
    await page.getByTestId('threshold-current').waitFor();
    await shot('05-threshold');
    expect(pageErrors).toEqual([]);
  });
});
