/**
 * The console's reports run on a worker thread (console/accounts/report-thread.ts): the same
 * report as in-process, errors of the same class and place, one job at a time, and the event
 * loop free while a long LOF runs. Real files, real threads.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '@finsecure/common/data';
import { AccountReportSettings, runAccountReport } from '../src/account-report.js';
import { ReportThreads } from '../src/console/accounts/report-thread.js';
import { exportCsv } from './helpers/console-accounts-data.js';
import { addPerson, cleanup, Client, startConsole, tempDir, type RunningConsole } from './helpers/console.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('finsecure-report-thread-');
});
afterAll(() => cleanup(dir));

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('ReportThreads', () => {
  it('gives the report the console computed in-process, for both detectors', async () => {
    const f = file('march.csv', exportCsv());
    const threads = new ReportThreads();
    for (const detector of ['iforest', 'lof'] as const) {
      const settings = AccountReportSettings.parse({ detector, neighbors: 10 });
      const [there, here] = await Promise.all([
        threads.run({ kind: 'accounts', file: f, settings }),
        runAccountReport(f, settings),
      ]);
      expect(there.layout).toBe(here.layout);
      expect(there.report).toEqual(here.report);
      expect([...there.report.rows].sort((a, b) => b.score - a.score)[0]!.account).toBe('WHALE');
    }
  });

  it('throws a bad cell as a DataError with its file, line and column, and runs the next job after it', async () => {
    const lines = exportCsv().trimEnd().split('\n');
    lines[5] = lines[5]!.replace(/,T4,A\d+,[^,]+,/, ',T4,A0,lots,');
    const f = file('bad.csv', lines.join('\n') + '\n');
    const threads = new ReportThreads();
    const failed = threads.run({ kind: 'accounts', file: f, settings: AccountReportSettings.parse({}) });
    const next = threads.run({
      kind: 'accounts',
      file: file('good.csv', exportCsv()),
      settings: AccountReportSettings.parse({}),
    });
    const err = await failed.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err).toMatchObject({ file: f, line: 6, column: 'Amount' });
    expect((err as Error).message).toMatch(/bad\.csv:6: column "Amount": amount is not a number: "lots"/);
    expect((await next).report.rows.length).toBe(81);
  });

  it('keeps the event loop free while a long LOF runs, and starts queued jobs one at a time', async () => {
    const f = file('large.csv', exportCsv(3, 2500));
    const settings = AccountReportSettings.parse({ detector: 'lof', neighbors: 100 });
    const threads = new ReportThreads();
    const order: string[] = [];
    let firstStarted!: () => void;
    const started = new Promise<void>((r) => (firstStarted = r));
    const first = threads.run(
      { kind: 'accounts', file: f, settings },
      { onStarted: () => (order.push('start 1'), firstStarted()) },
    );
    const second = threads.run({ kind: 'accounts', file: f, settings }, { onStarted: () => order.push('start 2') });
    void first.then(() => order.push('end 1'));
    await started;
    // The share of the job's time this thread's event loop was busy: the LOF on this thread would
    // hold it most of the time; on the report thread this one only waits (load-independent).
    const before = performance.eventLoopUtilization();
    await first;
    const busy = performance.eventLoopUtilization(before).utilization;
    expect(busy).toBeLessThan(0.5);
    await Promise.all([first, second]);
    expect(order).toEqual(['start 1', 'end 1', 'start 2']);
  });
});

describe('console: LOF neighbours', () => {
  let c: RunningConsole;
  let ana: Client;
  beforeAll(async () => {
    c = await startConsole(path.join(dir, 'console'), { maxUploadBytes: 1 << 20 });
    await addPerson(c, 'ana', 'analyst');
    ana = new Client(c.url);
    await ana.login('ana');
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  });

  it('refuses more than 100 neighbours, naming the limit, before reading the file', async () => {
    const r = await ana.upload('/api/accounts/reports?detector=lof&neighbors=1000000000', 'march.csv', exportCsv());
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/neighbors.*(100|less than or equal)/i);
    const ok = await ana.upload('/api/accounts/reports?detector=lof&neighbors=100', 'march.csv', exportCsv());
    expect(ok.status).toBe(201);
  });
});
