/**
 * Markdown output: one file per arm (baseline.md, simulation.md, local-only.md), and the
 * formatting they share with the comparison report (comparison-report.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EvalMetrics } from './evaluate.js';
import type { ExperimentDescription } from './experiment.js';
import type { BaselineResult, LocalOnlyResult } from './training.js';
import type { SimulationResult } from './simulate.js';

export const f3 = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : 'n/a';
export const f4 = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : 'n/a';
export const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
export const int = (v: number) => Math.round(v).toLocaleString('en-US');
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** "0.1 (≤ 5 synthetic per fraud)", "0.1" or "off". Results written before the cap existed have none. */
export function smoteLabel(t: { smoteRatio: number; smoteMaxMultiplier?: number | null }): string {
  if (!t.smoteRatio) return 'off';
  const cap = t.smoteMaxMultiplier ?? null;
  return cap === null ? `${t.smoteRatio}` : `${t.smoteRatio} (≤ ${cap} synthetic per fraud)`;
}

/**
 * The whole federated setting in one label, for every chart and report:
 * "FedAvg (step-normalised, loss^0.5, server lr 0.3, local lr 0.003, SMOTE ≤5×)" or
 * "FedAvg (plain, local lr 0.001, SMOTE uncapped)". Everything that changes what FedAvg
 * computes is named; results written before a setting existed read as its old value.
 */
export function strategyLabel(t: {
  maxShare: number;
  normalizeSteps?: boolean;
  lossExponent?: number;
  serverLearningRate?: number;
  serverMomentum?: number;
  learningRate?: number;
  smoteRatio?: number;
  smoteMaxMultiplier?: number | null;
}): string {
  const parts: string[] = [];
  if (t.normalizeSteps) parts.push('step-normalised');
  if ((t.lossExponent ?? 0) > 0) parts.push(`loss^${t.lossExponent}`);
  if (t.maxShare < 1) parts.push(`share cap ${t.maxShare}`);
  if ((t.serverLearningRate ?? 1) !== 1) parts.push(`server lr ${t.serverLearningRate}`);
  if ((t.serverMomentum ?? 0) > 0) parts.push(`server momentum ${t.serverMomentum}`);
  if (parts.length === 0) parts.push('plain');
  if (t.learningRate !== undefined) parts.push(`local lr ${t.learningRate}`);
  if (t.smoteRatio !== undefined) {
    const cap = t.smoteMaxMultiplier ?? null;
    parts.push(!t.smoteRatio ? 'no SMOTE' : cap === null ? 'SMOTE uncapped' : `SMOTE ≤${cap}×`);
  }
  return `FedAvg (${parts.join(', ')})`;
}

export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map((x) => String(x).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `| ${header.map(() => '---').join(' | ')} |`, ...rows.map(line)].join('\n');
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(value, null, 2) + '\n');
}

function splitName(e: ExperimentDescription): string {
  if (e.split === 'given')
    return `given (train \`${path.basename(e.source)}\`, test \`${path.basename(e.testSource ?? '')}\`)`;
  return e.split === 'time' ? 'time-ordered (latest rows test)' : 'stratified';
}

export function describeData(e: ExperimentDescription): string {
  const alpha = e.alpha !== null ? `, α = ${e.alpha}` : '';
  const source = e.source.startsWith('synthetic:')
    ? `synthetic (${e.source.split(':')[1]} rows, fraud rate ${e.source.split(':')[2]})`
    : `\`${path.basename(e.source)}\``;
  return [
    `- Data: ${source}, layout ${e.layout}: ${int(e.rows)} rows, ${int(e.frauds)} frauds (${pct(e.frauds / e.rows)}), ${e.numFeatures} features`,
    `- Split: ${splitName(e)}, test fraction ${e.testFraction.toFixed(4)}: train ${int(e.train.rows)} rows / ${int(e.train.frauds)} frauds, shared test ${int(e.test.rows)} rows / ${int(e.test.frauds)} frauds`,
    `- Partition: ${e.banks} banks, ${e.scheme}${alpha}, seed ${e.seed}, ≥ ${e.minFraudPerBank} fraud(s) per bank; scaler merged from the ${e.banks} training shards (fingerprint \`${e.fingerprint}\`)`,
  ].join('\n');
}

export function shardTable(e: ExperimentDescription): string {
  return table(
    ['bank', 'rows', 'frauds', 'fraud rate', ...(e.shards.some((s) => s.groups !== undefined) ? ['customers'] : [])],
    e.shards.map((s) => [
      s.bank,
      int(s.rows),
      int(s.frauds),
      pct(s.fraudRate),
      ...(s.groups !== undefined ? [int(s.groups)] : []),
    ]),
  );
}

export function metricsRows(m: EvalMetrics): (string | number)[][] {
  return [
    ['precision @ 0.5', f4(m.precision)],
    ['recall @ 0.5', f4(m.recall)],
    ['F1 @ 0.5', f4(m.f1)],
    [`best-F1 threshold (oracle)`, f4(m.bestF1.threshold)],
    ['precision @ best-F1', f4(m.bestF1.precision)],
    ['recall @ best-F1', f4(m.bestF1.recall)],
    ['F1 @ best-F1', f4(m.bestF1.f1)],
    ['AUPRC', f4(m.auprc)],
    ['ROC AUC', f4(m.rocAuc)],
    ['recall @ 1 % FPR', f4(m.recallAt1PctFpr)],
    ['test loss (BCE)', f4(m.loss)],
    ['confusion @ 0.5 (tp / fp / tn / fn)', `${m.tp} / ${m.fp} / ${m.tn} / ${m.fn}`],
  ];
}

export function baselineMarkdown(r: BaselineResult): string {
  const t = r.training;
  return [
    '# Centralized baseline',
    '',
    describeData(r.experiment),
    `- Model: MLP ${r.model.inputSize} → ${r.model.hidden.join(' → ')} → 1, dropout ${r.model.dropout}; backend ${r.backend}`,
    `- Training: pooled training shards, ${t.epochs} epochs, batch ${t.batchSize}, Adam lr ${t.learningRate}, ${t.smote ? `SMOTE to ratio ${smoteLabel(t)} (k = ${t.smoteK}, ${int(r.syntheticRows)} synthetic rows)` : 'no SMOTE'}; ${int(r.trainRows)} rows trained`,
    `- Training time: ${secs(r.trainMs)}; final training loss ${f4(r.lossPerEpoch.at(-1))}`,
    '',
    '## Metrics on the shared test set',
    '',
    table(['metric', 'value'], metricsRows(r.metrics)),
    '',
    'The best-F1 threshold is chosen on the test set itself, so its F1 is an upper bound for that model, not a deployable figure.',
    '',
  ].join('\n');
}

export function localOnlyMarkdown(r: LocalOnlyResult): string {
  const t = r.training;
  return [
    '# Local-only training',
    '',
    describeData(r.experiment),
    `- Each bank trains alone for the federation's budget: ${t.rounds} rounds × ${t.epochs} epochs (batch ${t.batchSize}, lr ${t.learningRate}, SMOTE ${smoteLabel(t)}), evaluated on the shared test set`,
    '',
    table(
      ['bank', 'rows', 'frauds', 'AUPRC', 'ROC AUC', 'F1 @ 0.5', 'best F1', 'recall @ 1 % FPR', 'train time'],
      r.banks.map((b) => [
        b.bank,
        int(b.rows),
        int(b.frauds),
        f4(b.metrics.auprc),
        f4(b.metrics.rocAuc),
        f4(b.metrics.f1),
        f4(b.metrics.bestF1.f1),
        f4(b.metrics.recallAt1PctFpr),
        secs(b.trainMs),
      ]),
    ),
    '',
    `Mean AUPRC ${f4(r.summary.meanAuprc)}, worst ${f4(r.summary.worstAuprc)} (bank ${r.summary.worstBank}), best ${f4(r.summary.bestAuprc)}.`,
    '',
  ].join('\n');
}

/**
 * A round's ε for the tables: cumulative over the rounds so far, the largest over banks (the
 * accountant's, composed); ∞ without noise (z = 0: clipping only, no privacy), which the
 * aggregator's JSON carries as a string and would otherwise read as "n/a".
 */
export function epsilonCell(dp: { noiseMultiplier: number } | null, epsilon: number | null): string {
  if (dp && dp.noiseMultiplier === 0) return '∞ (no noise)';
  return f3(epsilon);
}

export function roundsTable(r: SimulationResult): string {
  const dp = r.training.dp !== null;
  return table(
    [
      'round',
      'status',
      'banks',
      'AUPRC',
      'F1 @ 0.5',
      'precision',
      'recall',
      'ROC AUC',
      'reported AUPRC',
      'test loss',
      'MB',
      'time',
      ...(dp ? ['cumulative ε (largest bank)'] : []),
    ],
    r.rounds.map((x) => [
      x.round,
      x.status === 'failed' ? `failed: ${x.failureReason ?? ''}` : x.status,
      `${x.participants}/${x.selected}`,
      f4(x.metrics?.auprc),
      f4(x.metrics?.f1),
      f4(x.metrics?.precision),
      f4(x.metrics?.recall),
      f4(x.metrics?.rocAuc),
      f4(x.reported?.auprc),
      f4(x.metrics?.loss),
      (x.bytes / 1e6).toFixed(2),
      secs(x.durations.totalMs ?? 0),
      ...(dp ? [epsilonCell(r.training.dp, x.epsilon)] : []),
    ]),
  );
}

export function simulationMarkdown(r: SimulationResult): string {
  const t = r.training;
  return [
    '# Federated simulation',
    '',
    describeData(r.experiment),
    `- Real aggregator and ${r.experiment.banks} real bank clients over loopback WebSockets; ${t.rounds} rounds, ${strategyLabel(t)}, quorum ${t.quorum}/${r.experiment.banks}, ${t.epochs} local epoch(s) per round, batch ${t.batchSize}, lr ${t.learningRate}, SMOTE ${smoteLabel(t)}, updates ${t.updateEncoding}`,
    t.dp
      ? `- Differential privacy: clip ${t.dp.clip}, noise multiplier ${t.dp.noiseMultiplier}, δ ${t.dp.delta}`
      : '- No differential privacy',
    t.secureAggregation
      ? '- Secure aggregation (SecAgg+): banks sent masked updates; the aggregator only unmasked their sum'
      : '- Updates in the clear (no secure aggregation)',
    `- Global scaler equals the baseline's: ${r.scalerCheck.identical ? 'yes, bit for bit' : `max difference ${r.scalerCheck.maxAbsDiff}`}`,
    `- Wall time ${secs(r.totals.wallMs)} (setup ${secs(r.totals.setupMs)}, training ${secs(r.totals.trainingWallMs)}), ${r.totals.committed} rounds committed, ${r.totals.failed} failed, ${(r.totals.bytes / 1e6).toFixed(1)} MB on the wire`,
    '',
    '## Per round',
    '',
    'AUPRC, F1, precision, recall, ROC AUC and loss are exact metrics of the committed global model on the shared test set; "reported AUPRC" is what the federation itself computed from the banks\' summed 1000-bin histograms.',
    '',
    roundsTable(r),
    '',
    ...(r.final ? ['## Final global model', '', table(['metric', 'value'], metricsRows(r.final)), ''] : []),
  ].join('\n');
}
