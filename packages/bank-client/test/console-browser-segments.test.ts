/**
 * The console's Segments page (issue 19 item 4) in real headless Chromium, against a real
 * console (real socket, real SQLite file) whose bank took part in a segmentation: the bank's
 * AnalyticsWorker answers the job's stages from its own transaction file (moments, then
 * Lloyd iterations, merged here as an aggregator does for a one-bank consortium, no noise)
 * and keeps the result. The page must list the bank's customers by segment under their keyed
 * pseudonyms (the ones the bank can recompute), with the right counts, and never show a raw
 * customer id. Screenshot: /tmp/console-segments.png.
 *
 * Needs the built app (packages/console/dist: `npm run build`) and Chromium at
 * /usr/bin/chromium (or FINSECURE_CHROMIUM).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudonym } from '@finsecure/common/anonymise';
import {
  CUSTOMER_FEATURES,
  scalingOf,
  segmentNames,
  unscaleCentres,
  updateCentres,
  type Centres,
} from '@finsecure/common/kmeans';
import {
  AnalyticsClientMessage as ClientSchema,
  type AnalyticsClientMessage,
  type AnalyticsServerMessage,
} from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import { segmentPseudonymKey } from '../src/analytics/state.js';
import { AnalyticsWorker } from '../src/analytics/worker.js';
import { addPerson, cleanup, startConsole, tempDir, type RunningConsole } from './helpers/console.js';
import { APP_DIST, browserReady, openPage, signIn } from './helpers/console-browser.js';

const ready = browserReady('console Segments browser test');

/** Raw customer ids: seven digits, easy to look for in the page. */
const DAY = Array.from({ length: 24 }, (_, c) => 4_711_000 + c); // small daytime purchases
const NIGHT = Array.from({ length: 8 }, (_, c) => 4_712_000 + c); // large purchases at night

/** Handbook-layout transactions (CUSTOMER_ID column): 6 per customer over April 2018. */
function writeTransactions(file: string): void {
  const lines = ['TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD'];
  let t = 0;
  const add = (id: number, c: number, night: boolean) => {
    for (let j = 0; j < 6; j++) {
      const day = String(2 + ((c * 3 + j * 4) % 26)).padStart(2, '0');
      const hour = String(night ? 1 + ((c + j) % 4) : 10 + ((c + j) % 8)).padStart(2, '0');
      const amount = night ? 400 + 25 * ((c + j) % 5) : 15 + ((c * 7 + j) % 20);
      lines.push(`${t++},2018-04-${day} ${hour}:15:00,${id},${(c + j) % 9},${amount.toFixed(2)},0`);
    }
  };
  DAY.forEach((id, c) => add(id, c, false));
  NIGHT.forEach((id, c) => add(id, c, true));
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** Sends one aggregator message to the worker and returns its (schema-checked) replies. */
async function ask(w: AnalyticsWorker, msg: AnalyticsServerMessage): Promise<AnalyticsClientMessage[]> {
  const sent: AnalyticsClientMessage[] = [];
  await w.handle(msg, (m) => sent.push(ClientSchema.parse(m)));
  return sent;
}

/**
 * A segmentation job with this bank as the only member: its moments give the scaling, its
 * first and last customers the initial centres (scaled units), then 5 Lloyd iterations on its
 * answers; the result (centres, names) goes back to it as the aggregator would send it.
 */
async function runSegmentation(w: AnalyticsWorker, jobId: number): Promise<void> {
  const task = { kind: 'segment_moments', minCustomers: 5 } as const;
  const [m] = await ask(w, {
    type: 'analytics_request',
    jobId,
    stageIndex: 0,
    stage: task.kind,
    deadlineInMs: 10_000,
    task,
  });
  if (m?.type !== 'analytics_answer' || m.answer.kind !== 'segment_moments') throw new Error(JSON.stringify(m));
  const scaling = scalingOf({ count: m.answer.count, mean: m.answer.mean, m2: m.answer.m2 });
  const d = CUSTOMER_FEATURES.length;
  const z = (f: number, v: number) => (v - scaling.mean[f]!) / scaling.std[f]!;
  // Two starting centres: a typical day customer and a typical night customer (scaled).
  const startDay = [20, 120, 6 / 27, 0, 0, 6].map((v, f) => z(f, v));
  const startNight = [450, 2700, 6 / 27, 1, 0, 6].map((v, f) => z(f, v));
  let centres: Centres = { data: Float64Array.from([...startDay, ...startNight]), k: 2, d };
  for (let iteration = 1; iteration <= 5; iteration++) {
    const lloyd = {
      kind: 'segment_lloyd',
      minCustomers: 5,
      iteration,
      scaling,
      k: 2,
      d,
      centres: Array.from(centres.data),
    } as const;
    const [a] = await ask(w, {
      type: 'analytics_request',
      jobId,
      stageIndex: iteration,
      stage: lloyd.kind,
      deadlineInMs: 10_000,
      task: lloyd,
    });
    if (a?.type !== 'analytics_answer' || a.answer.kind !== 'segment_lloyd') throw new Error(JSON.stringify(a));
    const stats = { k: 2, d, sums: Float64Array.from(a.answer.sums), counts: Float64Array.from(a.answer.counts) };
    centres = updateCentres(centres, stats).centres;
  }
  const names = segmentNames(centres, unscaleCentres(centres, scaling), CUSTOMER_FEATURES);
  await ask(w, {
    type: 'analytics_result',
    jobId,
    result: {
      kind: 'segmentation',
      features: [...CUSTOMER_FEATURES],
      scaling,
      k: 2,
      d,
      centres: Array.from(centres.data),
      names,
    },
  });
}

describe.skipIf(!ready)('console Segments page (browser)', () => {
  let dir: string;
  let c: RunningConsole;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = tempDir('finsecure-console-segments-');
    const stateDir = path.join(dir, 'state');
    c = await startConsole(stateDir, { appDir: APP_DIST });
    await addPerson(c, 'ana', 'analyst');
    const file = path.join(dir, 'transactions.csv');
    writeTransactions(file);
    const worker = new AnalyticsWorker({
      bankId: 'bank-x',
      stateDir,
      dataFile: file,
      transactions: () => ({ data: new Float64Array(0), rows: 0, cols: 1 }),
      noiseRng: createRng(3),
      logger: pino({ level: 'silent' }),
      // The stages below are exact (no DP): allowed here, declined by default.
      segmentExact: true,
    });
    await runSegmentation(worker, 41);
    ({ browser, page } = await openPage(pageErrors));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await c?.close();
    if (dir) cleanup(dir);
  });

  it("shows the bank's customers by segment under pseudonyms, never a raw customer id", async () => {
    await signIn(page, c.url, 'ana');
    await page.getByTestId('nav-segments').click();
    await page.getByTestId('segments-table').waitFor();

    expect(await page.getByTestId('segments-summary').textContent()).toMatch(
      /^Job 41, .*: 32 customers of this bank in 2 segments\. Customers are shown under pseudonyms\.$/,
    );
    const header = await page.getByTestId('segments-table').locator('thead th').allTextContents();
    expect(header).toEqual([
      'Segment',
      'Mean amount',
      'Total amount',
      'Tx / day',
      'Night share',
      'Weekend share',
      'Terminals',
      'Customers here',
      '',
    ]);
    const rows = page.getByTestId('segments-row');
    expect(await rows.count()).toBe(2);
    // Which row is the night segment: the one whose night share is 100 %.
    const cells = await Promise.all([0, 1].map((i) => rows.nth(i).locator('td').allTextContents()));
    const night = cells.findIndex((r) => r[4] === '100%');
    expect(night).toBeGreaterThanOrEqual(0);
    const day = 1 - night;
    expect(cells[night]![7]).toBe(String(NIGHT.length));
    expect(cells[day]![7]).toBe(String(DAY.length));
    expect(cells[day]![4]).toBe('0%');
    expect(Number(cells[night]![1])).toBeGreaterThan(400); // mean amount, original units
    expect(cells[night]![0]).toMatch(/high amount/);

    // The listed pseudonyms are exactly the ones the bank recomputes from its ids and key.
    const key = segmentPseudonymKey(c.stateDir);
    const expected = (ids: number[]) => ids.map((id) => pseudonym(key, 'customer', String(id))).sort();
    const listed = async (row: number) => {
      await rows.nth(row).getByRole('button', { name: 'Customers' }).click();
      const text = (await page.getByTestId('segments-customers').locator('p.mono').textContent()) ?? '';
      return text.split(' ').filter(Boolean);
    };
    const nightListed = await listed(night);
    expect(nightListed.every((p) => /^cus_[0-9a-f]{32}$/.test(p))).toBe(true);
    expect([...nightListed].sort()).toEqual(expected(NIGHT));
    await page.screenshot({ path: '/tmp/console-segments.png', fullPage: true });
    expect([...(await listed(day))].sort()).toEqual(expected(DAY));

    const html = await page.content();
    for (const id of [...DAY, ...NIGHT]) expect(html).not.toContain(String(id));
    expect(pageErrors).toEqual([]);
  });
});
