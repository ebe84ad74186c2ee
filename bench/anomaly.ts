/**
 * Unsupervised anomaly detection (issue 18): speed and quality.
 *
 * Speed, against targets, with scikit-learn measured in the same run as the reference
 * (packages/common/docs/anomaly-reference.py in `bench` mode; skipped with a note when
 * python3 or scikit-learn is missing):
 *   - 1,000,000 transaction rows (a plain export, written untimed to a temp file) →
 *     account report (read + features + Isolation Forest + reasons + CSV) ≤ 10 s;
 *   - Isolation Forest training, 100 trees, ψ = 256, on 1,000,000 × 30 ≤ 2 s;
 *   - Isolation Forest scoring ≥ 1,000,000 rows/s (30 features);
 *   - LOF (k = 20) fit on 10,000 accounts × 12 features and scoring them ≤ 5 s, with an
 *     A/B of its neighbour searches against the brute-force loop they replaced
 *     (anomaly-lof-ab.ts).
 *
 * Quality on the handbook data (labels known, never used for fitting), when the file is
 * there (FINSECURE_HANDBOOK or ../shared/datasets/handbook-2018-04.csv.gz): AUPRC at
 * transaction level on the research time split (fit on the earliest 80 %, score the
 * latest 57,612 transactions, the supervised federated model's test set) and at customer
 * level (a customer is positive if any of its transactions is fraud).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { accountReportCsv, buildAccountReport, readAccountTable } from '@finsecure/common/accounts';
import { IsolationForest, LocalOutlierFactor, robustScale, robustStats, type Matrix } from '@finsecure/common/anomaly';
import { loadDataset, timeSplit } from '@finsecure/common/data';
import { auprcExact } from '@finsecure/common/metrics';
import { createRng } from '@finsecure/common/rng';
import { iforestAbRows, iforestWalkAb } from './anomaly-iforest-ab.js';
import { lofAbRows, lofKnnAb } from './anomaly-lof-ab.js';
import {
  BENCH_DIR,
  gc,
  median,
  num,
  target,
  timeSync,
  type Benchmark,
  type BenchContext,
  type BenchResult,
  type Row,
} from './lib.js';

const REFERENCE_SCRIPT = path.join(BENCH_DIR, '../packages/common/docs/anomaly-reference.py');

function normalMatrix(rows: number, cols: number, seed: number): Matrix {
  const rng = createRng(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, rows, cols };
}

/** A plain export of `rows` transactions over `accounts` accounts, both timestamp styles. */
function writeExport(file: string, rows: number, accounts: number): void {
  const rng = createRng(99);
  const fd = openSync(file, 'w');
  const pad = (x: number) => (x < 10 ? '0' : '') + x;
  let chunk = 'Timestamp,TransactionID,AccountID,Amount,Merchant,TransactionType,Location\n';
  for (let i = 0; i < rows; i++) {
    const day = 1 + rng.int(28);
    const h = rng.int(24);
    const m = rng.int(60);
    const ts = i & 1 ? `2024-02-${pad(day)}T${pad(h)}:${pad(m)}:00Z` : `${pad(day)}-02-2024 ${pad(h)}:${pad(m)}`;
    const amount = Math.exp(3 + 0.8 * rng.normal()).toFixed(2);
    chunk += `${ts},T${i},ACC${rng.int(accounts)},${amount},merchant${rng.int(500)},purchase,city${rng.int(40)}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
}

interface SklearnTimes {
  sklearn: string;
  iforestFitS: number;
  iforestScoreS: number;
  lofFitScoreS: number;
}

function runPython(args: string[], timeoutMs: number): { json: unknown } | { error: string } {
  const r = spawnSync('python3', [REFERENCE_SCRIPT, ...args], { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) return { error: `python3 not available (${r.error.message})` };
  if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').slice(-1)[0] || `exit ${r.status}` };
  try {
    return { json: JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]!) };
  } catch {
    return { error: `unexpected output: ${r.stdout.slice(0, 200)}` };
  }
}

async function speed(ctx: BenchContext, res: BenchResult): Promise<void> {
  const rows = ctx.quick ? 200_000 : 1_000_000;
  ctx.log(`Isolation Forest on ${num(rows)} × 30`);
  const x = normalMatrix(rows, 30, 1);
  const fitMs = median(timeSync(() => IsolationForest.fit(x, createRng(1)), ctx.quick ? 1 : 3));
  const forest = IsolationForest.fit(x, createRng(1));
  const scoreMs = median(timeSync(() => forest.scoreSamples(x), ctx.quick ? 1 : 3));
  const rowsPerS = rows / (scoreMs / 1000);
  ctx.log('Isolation Forest walk A/B: JavaScript vs WebAssembly, interleaved');
  const walkAb = iforestWalkAb(forest, x, ctx.quick ? 1 : 3);
  res.tables.push({
    title: `Isolation Forest walks (100 trees, ψ 256), same forest and rows, interleaved`,
    rows: iforestAbRows(walkAb, rows, `${num(rows)} × 30`),
  });

  const lofRows = ctx.quick ? 3_000 : 10_000;
  ctx.log(`LOF on ${num(lofRows)} × 12`);
  const a = normalMatrix(lofRows, 12, 2);
  const lofRuns = timeSync(() => LocalOutlierFactor.fit(a).scoreSamples(a), ctx.quick ? 1 : 3, 0);
  const lofMs = median(lofRuns);
  ctx.log(`LOF kNN A/B: brute-force loop vs kNearest, interleaved`);
  const lofAb = lofKnnAb(Float64Array.from(a.data), lofRows, 12, 20, ctx.quick ? 1 : 3);
  res.tables.push({
    title: `LOF neighbour searches (fit + scoring, ${num(lofRows)} × 12, k 20), same data, interleaved`,
    rows: lofAbRows(lofAb, `${num(lofRows)} × 12`),
  });

  const txRows = ctx.quick ? 200_000 : 1_000_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-bench-accounts-'));
  let reportMs = NaN;
  let accounts = 0;
  try {
    const file = path.join(dir, 'export.csv');
    ctx.log(`writing ${num(txRows)} transactions (untimed)`);
    writeExport(file, txRows, 20_000);
    gc();
    ctx.log('account report');
    const t0 = performance.now();
    const table = await readAccountTable(file);
    const report = buildAccountReport(table, { detector: 'iforest', contamination: 0.01 });
    const csv = accountReportCsv(report);
    reportMs = performance.now() - t0;
    accounts = report.rows.length;
    if (csv.length === 0) throw new Error('empty report');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  ctx.log('scikit-learn reference (python3)');
  const py = runPython(['bench', String(rows)], 600_000);
  const sk = 'json' in py ? (py.json as SklearnTimes) : null;
  if (!sk) res.notes.push(`scikit-learn reference skipped: ${'error' in py ? py.error : ''}`);
  const ref = (s: number | undefined, ours: number) =>
    sk && s !== undefined ? `${num(s * 1000, 0)} ms (ours ${((s * 1000) / ours).toFixed(1)}× faster)` : 'n/a';
  const speedRows: Row[] = [
    {
      task: `Isolation Forest fit, 100 trees, ψ 256, ${num(rows)} × 30`,
      ours: `${num(fitMs, 0)} ms`,
      'scikit-learn': ref(sk?.iforestFitS, fitMs),
    },
    {
      task: `Isolation Forest score_samples, ${num(rows)} × 30`,
      ours: `${num(scoreMs, 0)} ms = ${num(rowsPerS)} rows/s`,
      'scikit-learn': ref(sk?.iforestScoreS, scoreMs),
    },
    {
      task: `LOF k 20, fit + score ${num(lofRows)} × 12 (median of ${lofRuns.length})`,
      ours: `${num(lofMs, 0)} ms`,
      'scikit-learn': lofRows === 10_000 ? ref(sk?.lofFitScoreS, lofMs) : 'n/a',
    },
    {
      task: `${num(txRows)} transactions → account report (${num(accounts)} accounts)`,
      ours: `${num(reportMs, 0)} ms`,
      'scikit-learn': '',
    },
  ];
  res.tables.push({
    title: `Speed${sk ? ` (scikit-learn ${sk.sklearn}, same machine, same run)` : ''}`,
    rows: speedRows,
  });
  res.targets.push(
    target(`${num(txRows)} transactions → account report`, reportMs / 1000, '<=', 10, 's'),
    target('Isolation Forest training, 100 trees', fitMs / 1000, '<=', 2, 's'),
    target('Isolation Forest scoring, 30 features', rowsPerS, '>=', 1_000_000, 'rows/s'),
    target(`LOF fit + scoring, ${num(lofRows)} accounts`, lofMs / 1000, '<=', 5, 's'),
  );
  res.data.speed = {
    rows,
    fitMs,
    scoreMs,
    rowsPerS,
    walkAb,
    lofRows,
    lofMs,
    lofRuns,
    lofAb,
    txRows,
    accounts,
    reportMs,
    sklearn: sk,
  };
}

async function quality(ctx: BenchContext, res: BenchResult): Promise<void> {
  const file =
    process.env.FINSECURE_HANDBOOK ?? path.resolve(BENCH_DIR, '../../shared/datasets/handbook-2018-04.csv.gz');
  if (!existsSync(file)) {
    res.notes.push(`quality skipped: no handbook data at ${file} (set FINSECURE_HANDBOOK)`);
    return;
  }
  ctx.log('handbook: transaction level');
  const ds = await loadDataset(file, { layout: 'handbook' });
  const { train, test } = timeSplit(ds, 0.2);
  const d = ds.numFeatures;
  const trainX: Matrix = { data: train.features, rows: train.numRows, cols: d };
  const testX: Matrix = { data: test.features, rows: test.numRows, cols: d };
  const seeds = ctx.quick ? [1] : [1, 2, 3, 4, 5];
  const ifAuprc = seeds.map((s) => {
    const scores = IsolationForest.fit(trainX, createRng(s)).scoreSamples(testX);
    return auprcExact(
      Array.from(scores, (v) => -v),
      test.labels,
    );
  });
  // LOF: robust-scaled features, reference = a random sample of the training rows.
  const refRows = ctx.quick ? 2_000 : 10_000;
  const rng = createRng(5);
  const pick = new Float64Array(refRows * d);
  for (let i = 0; i < refRows; i++) {
    const r = rng.int(train.numRows);
    for (let j = 0; j < d; j++) pick[i * d + j] = train.features[r * d + j];
  }
  const stats = robustStats({ data: pick, rows: refRows, cols: d });
  ctx.log(`LOF: ${num(test.numRows)} test rows against ${num(refRows)} reference rows`);
  const t0 = performance.now();
  const lof = LocalOutlierFactor.fit(robustScale({ data: pick, rows: refRows, cols: d }, stats));
  const lofScores = lof.scoreSamples(robustScale(testX, stats));
  const lofMs = performance.now() - t0;
  const lofTx = auprcExact(
    Array.from(lofScores, (v) => -v),
    test.labels,
  );
  const prevalence = test.labels.reduce((a, b) => a + b, 0) / test.numRows;

  ctx.log('handbook: customer level');
  const table = await readAccountTable(file);
  const labels = Uint8Array.from(table.frauds, (f) => (f > 0 ? 1 : 0));
  const custIf = seeds.map((s) => {
    const r = buildAccountReport(table, { detector: 'iforest', seed: s });
    return auprcExact(
      r.rows.map((x) => x.score),
      labels,
    );
  });
  const custLof = auprcExact(
    buildAccountReport(table, { detector: 'lof' }).rows.map((x) => x.score),
    labels,
  );
  const custPrev = labels.reduce((a, b) => a + b, 0) / labels.length;

  ctx.log('scikit-learn on the same split (python3)');
  const py = runPython(['quality', file], 600_000);
  const sk = 'json' in py ? (py.json as { iforestAuprc: number[] }) : null;
  if (!sk) res.notes.push(`scikit-learn quality reference skipped: ${'error' in py ? py.error : ''}`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const fmt = (xs: number[]) => `${mean(xs).toFixed(4)} (${Math.min(...xs).toFixed(4)}–${Math.max(...xs).toFixed(4)})`;
  res.tables.push({
    title: 'AUPRC on the handbook data (unsupervised: labels only for scoring)',
    rows: [
      {
        level: `transaction (latest ${num(test.numRows)}, ${(prevalence * 100).toFixed(2)} % fraud)`,
        detector: `Isolation Forest, ${seeds.length} seeds`,
        AUPRC: fmt(ifAuprc),
        'scikit-learn': sk ? fmt(sk.iforestAuprc) : 'n/a',
      },
      {
        level: 'transaction',
        detector: `LOF k 20, ${num(refRows)} reference rows (${num(lofMs, 0)} ms)`,
        AUPRC: lofTx.toFixed(4),
        'scikit-learn': '',
      },
      {
        level: `customer (${num(labels.length)}, ${(custPrev * 100).toFixed(1)} % with fraud)`,
        detector: `Isolation Forest, ${seeds.length} seeds`,
        AUPRC: fmt(custIf),
        'scikit-learn': '',
      },
      { level: 'customer', detector: 'LOF k 20', AUPRC: custLof.toFixed(4), 'scikit-learn': '' },
    ],
  });
  res.data.quality = {
    file,
    testRows: test.numRows,
    prevalence,
    ifAuprc,
    lofTx,
    refRows,
    lofMs,
    customers: labels.length,
    custPrev,
    custIf,
    custLof,
    sklearn: sk,
  };
}

export const anomaly: Benchmark = {
  name: 'anomaly',
  title: 'Unsupervised anomaly detection: Isolation Forest, LOF, account reports',
  description:
    'Isolation Forest / LOF speed vs scikit-learn, 1M transactions → account report, AUPRC on the handbook data',
  async run(ctx) {
    const res: BenchResult = { tables: [], targets: [], notes: [], data: {} };
    await speed(ctx, res);
    await quality(ctx, res);
    return res;
  },
};
