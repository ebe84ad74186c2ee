/**
 * End-to-end: a real aggregator (in-process), two real bank-client processes training on
 * synthetic shards, and the built dashboard in headless Chromium. Checks that rounds
 * show up live, the charts and the banks table fill in, viewers get no controls, and the
 * page reconnects by itself after the aggregator restarts.
 *
 * Needs `npm run build` first (the dashboard's dist/ and the bank client's dist/), which
 * `npm test` does, and Chromium at /usr/bin/chromium (or FINSECURE_CHROMIUM).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_RULES,
  DEFAULT_TRAINING,
  loadConfig,
  startAggregator,
  type AggregatorConfig,
  type RunningAggregator,
} from '@finsecure/aggregator';
import { writeSyntheticCsv } from '@finsecure/common/data';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DASHBOARD_DIST = path.join(ROOT, 'packages/dashboard/dist');
const BANK_CLI = path.join(ROOT, 'packages/bank-client/dist/cli/main.js');
/** The state key the bank's state is encrypted under (required by `finsecure-bank start`); a test key. */
const BANK_STATE_KEY = Buffer.alloc(32, 0x5a).toString('base64');
const SHOTS = path.join(ROOT, 'test-output/dashboard');
const CHROMIUM = process.env.FINSECURE_CHROMIUM ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
const VIEWER_TOKEN = 'e2e-viewer-token-0123456789abcdef';
const BANKS = ['bank-a', 'bank-b'];

// Without Chromium a local run skips this file; on CI (CI=true) a missing browser fails it.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) {
  console.warn(
    `dashboard e2e skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set FINSECURE_CHROMIUM)`,
  );
}

/** The fields of a stored round this test reads. */
interface RoundLike {
  id: number;
  status: string;
}

interface BankProc {
  id: string;
  child: ChildProcess;
  log: string[];
}

describe.skipIf(!haveChromium && !process.env.CI)('dashboard (browser, real aggregator and banks)', () => {
  let dir: string;
  let config: AggregatorConfig;
  let agg: RunningAggregator | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const banks: BankProc[] = [];
  const pageErrors: string[] = [];

  const api = (p: string, init: RequestInit & { token?: string } = {}) =>
    fetch(`${agg!.url}${p}`, {
      ...init,
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.headers ?? {}) },
    });

  const bankLogs = () =>
    banks.map((b) => `--- ${b.id} (exit ${b.child.exitCode}) ---\n${b.log.join('').slice(-3000)}`).join('\n');

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  async function login(token: string): Promise<void> {
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: 10_000 });
    await page.fill('[data-testid="login-token"]', token);
    await page.click('[data-testid="login-submit"]');
    await page.locator('[data-testid="overview"]').waitFor({ timeout: 15_000 });
  }

  beforeAll(async () => {
    if (!existsSync(path.join(DASHBOARD_DIST, 'index.html'))) {
      throw new Error(`${DASHBOARD_DIST}/index.html is missing: run "npm run build" first (npm test does)`);
    }
    if (!existsSync(BANK_CLI)) throw new Error(`${BANK_CLI} is missing: run "npm run build" first (npm test does)`);
    if (!haveChromium)
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set FINSECURE_CHROMIUM)`);
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(path.join(tmpdir(), 'finsecure-dashboard-e2e-'));

    config = loadConfig({
      flags: {
        host: '127.0.0.1',
        port: 0,
        dataDir: dir,
        adminToken: ADMIN_TOKEN,
        viewerToken: VIEWER_TOKEN,
        autoStart: true,
        dashboardDir: DASHBOARD_DIST,
        logLevel: 'warn',
        rules: {
          ...DEFAULT_RULES,
          rounds: 3,
          minBanks: 2,
          quorum: 2,
          roundTimeoutMs: 30_000,
          graceMs: 0,
          roundIntervalMs: 200,
          normalizeSteps: true,
          serverLearningRate: 0.8,
        },
        training: { ...DEFAULT_TRAINING, epochs: 1, batchSize: 64 },
      },
    });
    agg = await startAggregator(config);

    for (const [i, id] of BANKS.entries()) {
      const res = await api('/api/banks', {
        method: 'POST',
        token: ADMIN_TOKEN,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, name: `Bank ${id.slice(-1).toUpperCase()}` }),
      });
      expect(res.status).toBe(201);
      const { token } = (await res.json()) as { token: string };
      const csv = path.join(dir, `${id}.csv`);
      await writeSyntheticCsv({ rows: 2000, fraudRate: 0.05, seed: 11 + i }, csv);
      const child = spawn(
        process.execPath,
        [
          BANK_CLI,
          'start',
          '--server',
          `${agg.wsUrl}/ws/bank`,
          '--bank-id',
          id,
          '--data',
          csv,
          '--test-fraction',
          '0.3',
          '--state-dir',
          path.join(dir, `state-${id}`),
          '--log-level',
          'warn',
        ],
        {
          env: { ...process.env, FINSECURE_BANK_TOKEN: token, FINSECURE_STATE_KEY: BANK_STATE_KEY },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const proc: BankProc = { id, child, log: [] };
      child.stdout?.on('data', (d: Buffer) => proc.log.push(d.toString()));
      child.stderr?.on('data', (d: Buffer) => proc.log.push(d.toString()));
      banks.push(proc);
    }

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await Promise.all(
      banks.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await agg?.close().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('shows rounds live to an admin: quality and traffic charts, banks, round detail, model download', async () => {
    // Signed out is the normal case on the sign-in page: no failed request in the browser's console.
    const consoleErrors: string[] = [];
    const onConsole = (m: { type(): string; text(): string }) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    };
    page.on('console', onConsole);
    await page.goto(agg!.url);
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: 10_000 });
    await page.waitForLoadState('networkidle');
    page.off('console', onConsole);
    expect(consoleErrors).toEqual([]);
    await shot('01-login');
    await login(ADMIN_TOKEN);
    expect(await page.locator('[data-testid="controls"]').count()).toBe(1);
    // The strategy in force, as configured, in one line.
    await expect
      .poll(() => page.locator('[data-testid="config"] [data-testid="strategy"]').textContent(), { timeout: 5000 })
      .toBe('FedAvg, step-normalised, loss-weighted q 0.5, server lr 0.8');

    // Rounds arrive over the live stream: no reload in between.
    try {
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid="round-row"][data-status="committed"]').length >= 2,
        null,
        {
          timeout: 70_000,
          polling: 250,
        },
      );
    } catch (err) {
      await shot('failure-waiting-for-rounds').catch(() => {});
      throw new Error(`fewer than 2 committed rounds appeared: ${(err as Error).message}\n${bankLogs()}`);
    }

    // Quality: one dot per round and metric on the global lines (recharts renders <circle class="recharts-dot recharts-line-dot">).
    await expect
      .poll(() => page.locator('[data-testid="quality-chart"] .recharts-line-dot').count(), { timeout: 5000 })
      .toBeGreaterThanOrEqual(2);
    expect(
      Number(await page.locator('[data-testid="quality-chart"]').getAttribute('data-points')),
    ).toBeGreaterThanOrEqual(2);

    // Per-bank lines come from round.banks[b].metrics and can be switched on.
    const globalDots = await page.locator('[data-testid="quality-chart"] .recharts-line-dot').count();
    await page.click('[data-testid="bank-toggle-bank-a"]');
    await expect
      .poll(() => page.locator('[data-testid="quality-chart"] .recharts-line-dot').count(), { timeout: 5000 })
      .toBeGreaterThan(globalDots);

    // Communication: bars drawn and a positive byte total.
    await expect
      .poll(() => page.locator('[data-testid="comm-chart"] .recharts-bar-rectangle').count(), { timeout: 5000 })
      .toBeGreaterThan(0);
    expect(Number(await page.locator('[data-testid="comm-total-up"]').getAttribute('data-bytes'))).toBeGreaterThan(0);
    expect(Number(await page.locator('[data-testid="comm-chart"]').getAttribute('data-bytes'))).toBeGreaterThan(0);

    await page.click('[data-testid="comm-mode-bank"]');
    await expect
      .poll(() => page.locator('[data-testid="comm-chart"] .recharts-bar-rectangle').count(), { timeout: 5000 })
      .toBeGreaterThan(0);

    // Banks table: both banks listed as connected.
    const rows = page.locator('[data-testid="banks-table"] [data-testid="bank-row"]');
    expect(await rows.count()).toBe(2);
    expect((await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-bank-id')))).sort()).toEqual(BANKS);
    expect(await page.locator('[data-testid="bank-row"][data-connected="true"]').count()).toBe(2);

    // Audit chain verified.
    expect(await page.locator('[data-testid="audit-verify"]').getAttribute('data-ok')).toBe('true');
    await shot('02-admin-overview');

    // From here on the page must hold still: a round committing while Playwright clicks moves the
    // layout under the pointer (a new round row, the detail's content), and the click lands elsewhere.
    // Training stops after its 3 rounds; wait for that, then for the page to show it.
    await expect
      .poll(
        async () => ((await (await api('/api/status', { token: ADMIN_TOKEN })).json()) as { state: string }).state,
        { timeout: 60_000 },
      )
      .toBe('finished');
    try {
      await expect
        .poll(() => page.locator('[data-testid="round-row"][data-status="committed"]').count(), { timeout: 10_000 })
        .toBe(3);
    } catch (err) {
      // Say what the page and the aggregator each hold: a round missing only on the page is the page's fault.
      const shown = await page
        .locator('[data-testid="round-row"]')
        .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-round-id')}:${e.getAttribute('data-status')}`));
      const stored = ((await (await api('/api/rounds', { token: ADMIN_TOKEN })).json()) as RoundLike[]).map(
        (r) => `${r.id}:${r.status}`,
      );
      throw new Error(`${(err as Error).message}\npage shows ${shown.join(' ')}; aggregator has ${stored.join(' ')}`);
    }

    // Round detail: participants with their weights.
    await page.locator('[data-testid="round-row"][data-status="committed"]').last().click();
    const detail = page.locator('[data-testid="round-detail"]');
    await detail.waitFor();
    expect(await detail.locator('[data-testid="participant-row"]').count()).toBe(2);
    await detail.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, '03-round-detail.png') });

    // Model download goes through fetch + bearer header and lands as a file.
    const model = (await (await api('/api/model', { token: ADMIN_TOKEN })).json()) as { parameters: number };
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 20_000 }).catch(async (err: Error) => {
        // Say what the page shows: the panel's error, or a button still busy, beats a bare timeout.
        const panel = await page
          .locator('[data-testid="model-download"]')
          .textContent()
          .catch(() => '?');
        throw new Error(`no download: ${err.message}\nmodel panel: ${panel}`);
      }),
      page.click('[data-testid="download-weights"]'),
    ]);
    expect(download.suggestedFilename()).toBe('weights.bin');
    const saved = path.join(dir, 'weights.bin');
    await download.saveAs(saved);
    expect(statSync(saved).size).toBe(model.parameters * 4);

    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('offers an ML engineer the rollback the API allows it (training.control)', async () => {
    const password = 'an engineer passphrase 7';
    const made = await api('/api/users', {
      method: 'POST',
      token: ADMIN_TOKEN,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'eve', role: 'ml-engineer', password }),
    });
    expect(made.status).toBe(201);
    await page.click('[data-testid="logout"]');
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: 10_000 });
    await page.fill('[data-testid="login-username"]', 'eve');
    await page.fill('[data-testid="login-password"]', password);
    await page.click('[data-testid="login-submit"]');
    await page.locator('[data-testid="overview"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="dashboard"]').getAttribute('data-role')).toBe('ml-engineer');
    await expect
      .poll(() => page.locator('[data-testid^="rollback-"]').count(), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('gives a viewer a read-only dashboard: no controls, and the API refuses control with 403', async () => {
    await page.click('[data-testid="logout"]');
    await login(VIEWER_TOKEN);
    expect(await page.locator('[data-testid="dashboard"]').getAttribute('data-role')).toBe('viewer');
    expect(await page.locator('[data-testid="controls"]').count()).toBe(0);
    expect(await page.locator('[data-testid^="control-"]').count()).toBe(0);
    await expect
      .poll(() => page.locator('[data-testid="round-row"]').count(), { timeout: 5000 })
      .toBeGreaterThanOrEqual(2);
    await shot('04-viewer');
    expect(await page.locator('[data-testid^="rollback-"]').count()).toBe(0);

    const res = await api('/api/training/pause', { method: 'POST', token: VIEWER_TOKEN });
    expect(res.status).toBe(403);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it('shows a reconnecting banner while the aggregator is down and catches up after it restarts', async () => {
    await page.click('[data-testid="logout"]');
    await login(ADMIN_TOKEN);
    await page.locator('[data-testid="audit-verify"][data-ok="true"]').waitFor();
    const port = new URL(agg!.url).port;
    const committedBefore = await page.locator('[data-testid="round-row"][data-status="committed"]').count();
    await agg!.close();
    agg = undefined;
    const banner = page.locator('[data-testid="connection-banner"]');
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await banner.textContent()).toMatch(/disconnected.*reconnecting/i);
    await shot('05-disconnected');
    // A chain check asked for now does not happen: the panel says so, and the green result is the past.
    await page.click('[data-testid="audit-verify-button"]');
    await page.locator('[data-testid="audit-verify-failed"]').waitFor();
    expect(await page.locator('[data-testid="audit-verify-failed"]').textContent()).toMatch(
      /The chain was not checked/,
    );
    expect(await page.locator('[data-testid="audit-verify"]').getAttribute('data-stale')).toBe('true');
    expect(await page.locator('[data-testid="audit-verify"]').textContent()).toMatch(/intact at the earlier check/);

    // Same port and data directory: the state comes back from the store.
    agg = await startAggregator({ ...config, port: Number(port) });
    await banner.waitFor({ state: 'hidden', timeout: 30_000 });
    await expect
      .poll(() => page.locator('[data-testid="live-indicator"]').getAttribute('data-state'), { timeout: 5000 })
      .toBe('open');
    expect(await page.locator('[data-testid="round-row"][data-status="committed"]').count()).toBeGreaterThanOrEqual(
      committedBefore,
    );
    await shot('06-reconnected');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
