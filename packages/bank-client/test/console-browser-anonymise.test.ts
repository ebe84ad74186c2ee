/**
 * The console's Anonymise page (issue 19 item 1) in real headless Chromium against a real
 * console: an analyst uploads a small CSV with a column the classifier cannot place, gives
 * it a role on the page, and sees the report (each column's treatment, ε, k), a download
 * link that serves the safe copy, and the run in the list. Screenshot: /tmp/console-anonymise.png.
 *
 * Needs the built app (packages/console/dist: `npm run build`) and Chromium at
 * /usr/bin/chromium (or FINSECURE_CHROMIUM).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPerson, cleanup, startConsole, tempDir, type RunningConsole } from './helpers/console.js';
import { APP_DIST, browserReady, openPage, signIn } from './helpers/console-browser.js';

const ready = browserReady('console Anonymise browser test');

/**
 * 24 transactions of 4 customers on one day (6 each), their cards ending alike (masked to the
 * last four, the same): by day, the 4 customers' records are the same, k = 4 people.
 * "shop_code" has no known role.
 */
function writeCsv(file: string): void {
  const lines = ['customer_id,name,card_number,amount,timestamp,shop_code'];
  for (let i = 0; i < 24; i++)
    lines.push(
      `K90${210 + (i % 4)},Ottilie Brandvold${i % 4},492912345678${i % 4}0100,${(5 + i * 3).toFixed(2)},2018-04-05 ${10 + (i % 6)}:00:00,S${i % 3}`,
    );
  writeFileSync(file, lines.join('\n') + '\n');
}

describe.skipIf(!ready)('console Anonymise page (browser)', () => {
  let dir: string;
  let c: RunningConsole;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  let csv: string;

  beforeAll(async () => {
    dir = tempDir('finsecure-console-anonymise-ui-');
    const stateDir = path.join(dir, 'state');
    c = await startConsole(stateDir, { appDir: APP_DIST });
    await addPerson(c, 'ana', 'analyst');
    csv = path.join(dir, 'april.csv');
    writeCsv(csv);
    ({ browser, page } = await openPage(pageErrors));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await c?.close();
    if (dir) cleanup(dir);
  });

  it('uploads a CSV and shows the report and the download link', async () => {
    await signIn(page, c.url, 'ana');
    await page.getByTestId('nav-anonymise').click();
    await page.getByTestId('anonymise-form').waitFor();

    await page.getByTestId('anonymise-file').setInputFiles(csv);
    await page.getByTestId('anonymise-time').selectOption('day');
    await page.getByTestId('anonymise-epsilon-input').fill('0.5');
    await page.getByTestId('anonymise-submit').click();
    // shop_code has no role: refused, and the page asks for one (default drop).
    await page.getByTestId('anonymise-roles').waitFor();
    expect(await page.getByTestId('anonymise-error').textContent()).toContain('"shop_code"');
    await page.getByTestId('anonymise-roles').getByRole('button', { name: 'Run again' }).click();

    await page.getByTestId('anonymise-result').waitFor();
    const rows = await page.getByTestId('anonymise-result').locator('tbody tr').allTextContents();
    const treatment = (col: string) => rows.find((r) => r.startsWith(col)) ?? '';
    expect(treatment('customer_id')).toContain('pseudonymised');
    expect(treatment('name')).toContain('dropped');
    expect(treatment('card_number')).toContain('masked');
    expect(treatment('amount')).toContain('laplace');
    expect(treatment('shop_code')).toContain('dropped');
    expect(await page.getByTestId('anonymise-result').getByTestId('anonymise-epsilon').textContent()).toBe('0.5');
    expect(Number(await page.getByTestId('anonymise-result').getByTestId('anonymise-k').textContent())).toBe(4);

    const href = await page.getByTestId('anonymise-download').getAttribute('href');
    expect(href).toMatch(/^\/api\/anonymise\/[0-9a-f]{16}\/file$/);
    const dl = await page.request.get(c.url + href!);
    expect(dl.status()).toBe(200);
    const text = await dl.text();
    expect(text.split('\n').filter(Boolean)).toHaveLength(25);
    expect(text).not.toMatch(/K9021\d|Brandvold|4929123456780/);
    await page.getByTestId('anonymise-runs').waitFor();
    expect(await page.getByTestId('anonymise-runs').locator('tbody tr').count()).toBe(1);
    await page.screenshot({ path: '/tmp/console-anonymise.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
