/**
 * The bank console in real headless Chromium: the alert queue follows what happens elsewhere. An
 * analyst keeps the queue open while a colleague scores a file in another tab; the new alerts show
 * without a reload (the queue is read again every 15 s and on focus). The page's clock is
 * Playwright's, moved past the interval; the console and its SQLite file are real.
 *
 * Needs the built app (packages/console/dist: `npm run build`) and Chromium at /usr/bin/chromium.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, consoleWithPeople, syntheticCsv, type RunningConsole } from './helpers/console.js';
import { APP_DIST, browserReady, openPage, signIn } from './helpers/console-browser.js';

const ready = browserReady('console refresh browser test');

describe.skipIf(!ready)('bank console: the alert queue follows scoring elsewhere (browser)', () => {
  let dir: string;
  let c: RunningConsole;
  let browser: Browser | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const { clients, ...opened } = await consoleWithPeople(
      'finsecure-console-refresh-',
      { ana: 'analyst', bo: 'analyst', eng: 'ml-engineer' },
      { appDir: APP_DIST },
    );
    ({ dir, c } = opened);
    // An operating threshold, or a scored file flags nothing.
    expect((await clients.eng!.put('/api/threshold', { kind: 'probability', value: 0.2 })).status).toBe(200);
    writeFileSync(path.join(dir, 'today.csv'), syntheticCsv(400, 21).text);
    ({ browser } = await openPage(pageErrors));
  });

  afterAll(async () => {
    await browser?.close();
    await c?.close();
    if (dir) cleanup(dir);
  });

  it('shows alerts a colleague scored in another browser, without a reload', async () => {
    const ana = await browser!.newContext();
    await ana.clock.install();
    const queue = await ana.newPage();
    await signIn(queue, c.url, 'ana');
    await queue.getByTestId('nav-alerts').click();
    await queue.getByTestId('alerts-empty').waitFor();

    // Bo scores a file in his own browser.
    const bo = await (await browser!.newContext()).newPage();
    await signIn(bo, c.url, 'bo');
    await bo.getByTestId('nav-score-a-file').click();
    await bo.getByTestId('upload-file').setInputFiles(path.join(dir, 'today.csv'));
    await bo.getByTestId('upload-submit').click();
    await expect.poll(() => bo.getByTestId('upload-result').innerText()).toMatch(/[1-9]\d* flagged/);

    expect(await queue.getByTestId('alert-row').count()).toBe(0); // not read again yet
    await ana.clock.fastForward(16_000);
    await expect.poll(() => queue.getByTestId('alert-row').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
