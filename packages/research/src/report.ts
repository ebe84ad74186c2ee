/**
 * Markdown (and SVG) output: one file per arm (baseline.md, simulation.md, local-only.md)
 * and the comparison report (report.md with charts as SVG files beside it).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EvalMetrics } from './evaluate.js';
import type { ExperimentDescription } from './experiment.js';
import type { BaselineResult, LocalOnlyResult } from './training.js';
import type { SimulationResult } from './simulate.js';
import { barChart, lineChart } from './svg.js';

export const f3 = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : 'n/a';
export const f4 = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : 'n/a';
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const int = (v: number) => Math.round(v).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

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
      ...(dp ? ['ε'] : []),
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
      ...(dp ? [f3(x.epsilon)] : []),
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

// ---------------------------------------------------------------- comparison

export interface Comparison {
  centralizedAuprc: number;
  federatedAuprc: number;
  /** Best AUPRC over all rounds (selected on the test set: optimistic). */
  federatedBestAuprc: number;
  localMeanAuprc: number;
  localWorstAuprc: number;
  /** federated / centralized. */
  ratio: number;
  targetRatio: number;
  meetsRatio: boolean;
  /** Federated minus mean local-only AUPRC. */
  gainOverLocal: number;
  beatsLocal: boolean;
  /** Rounds until federated AUPRC first reached 95 % of centralized (null: never). */
  roundsTo95: number | null;
}

/** "Clearly above" the local-only mean: by at least this much AUPRC. */
export const CLEAR_MARGIN = 0.02;

export function compareResults(
  b: BaselineResult,
  s: SimulationResult,
  l: LocalOnlyResult,
  targetRatio = 0.95,
): Comparison {
  const central = b.metrics.auprc;
  const fed = s.final?.auprc ?? 0;
  const committed = s.rounds.filter((r) => r.metrics);
  const best = Math.max(0, ...committed.map((r) => r.metrics!.auprc));
  const to95 = committed.find((r) => r.metrics!.auprc >= targetRatio * central);
  const gain = fed - l.summary.meanAuprc;
  return {
    centralizedAuprc: central,
    federatedAuprc: fed,
    federatedBestAuprc: best,
    localMeanAuprc: l.summary.meanAuprc,
    localWorstAuprc: l.summary.worstAuprc,
    ratio: central > 0 ? fed / central : 0,
    targetRatio,
    meetsRatio: central > 0 && fed >= targetRatio * central,
    gainOverLocal: gain,
    beatsLocal: gain >= CLEAR_MARGIN,
    roundsTo95: to95 ? to95.round : null,
  };
}

export interface ReportFiles {
  report: string;
  charts: string[];
}

/** Writes report.md and its SVG charts into `dir`. */
export async function writeComparisonReport(
  dir: string,
  b: BaselineResult,
  s: SimulationResult,
  l: LocalOnlyResult,
  title?: string,
): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const cmp = compareResults(b, s, l);
  const committed = s.rounds.filter((r) => r.metrics);
  const charts: string[] = [];
  const save = async (name: string, svg: string) => {
    await writeFile(path.join(dir, name), svg);
    charts.push(name);
  };
  const refs = (pick: (m: EvalMetrics) => number, localMean: number, localWorst: number) => [
    { name: `centralized (${f3(pick(b.metrics))})`, y: pick(b.metrics), color: '#111111' },
    { name: `95 % of centralized (${f3(0.95 * pick(b.metrics))})`, y: 0.95 * pick(b.metrics), color: '#999999' },
    { name: `local-only mean (${f3(localMean)})`, y: localMean, color: '#2ca02c' },
    { name: `local-only worst (${f3(localWorst)})`, y: localWorst, color: '#d62728' },
  ];
  const lw = l.banks;
  const meanOf = (f: (m: EvalMetrics) => number) => lw.reduce((x, k) => x + f(k.metrics), 0) / lw.length;
  const worstOf = (f: (m: EvalMetrics) => number) => Math.min(...lw.map((k) => f(k.metrics)));
  await save(
    'auprc-per-round.svg',
    lineChart({
      title: 'AUPRC per round (shared test set)',
      xLabel: 'round',
      yLabel: 'AUPRC',
      series: [
        {
          name: `federated: ${strategyLabel(s.training)}`,
          points: committed.map((r) => [r.round, r.metrics!.auprc] as const),
          color: '#1f77b4',
        },
      ],
      refLines: refs((m) => m.auprc, l.summary.meanAuprc, l.summary.worstAuprc),
    }),
  );
  await save(
    'f1-per-round.svg',
    lineChart({
      title: 'F1 per round (threshold 0.5 and best threshold)',
      xLabel: 'round',
      yLabel: 'F1',
      series: [
        {
          name: `federated F1 @ 0.5: ${strategyLabel(s.training)}`,
          points: committed.map((r) => [r.round, r.metrics!.f1] as const),
          color: '#1f77b4',
        },
        {
          name: 'federated best F1',
          points: committed.map((r) => [r.round, r.metrics!.bestF1.f1] as const),
          color: '#9467bd',
          dashed: true,
        },
      ],
      refLines: [
        { name: `centralized F1 @ 0.5 (${f3(b.metrics.f1)})`, y: b.metrics.f1, color: '#111111' },
        { name: `local-only mean F1 (${f3(meanOf((m) => m.f1))})`, y: meanOf((m) => m.f1), color: '#2ca02c' },
        { name: `local-only worst F1 (${f3(worstOf((m) => m.f1))})`, y: worstOf((m) => m.f1), color: '#d62728' },
      ],
    }),
  );
  await save(
    'bytes-per-round.svg',
    barChart({
      title: 'Bytes on the wire per round (all banks)',
      xLabel: 'round',
      yLabel: 'bytes',
      categories: s.rounds.map((r) => String(r.round)),
      series: [
        { name: 'up (updates, evaluations)', values: s.rounds.map((r) => r.bytesUp), color: '#ff7f0e' },
        { name: 'down (models)', values: s.rounds.map((r) => r.bytesDown), color: '#1f77b4' },
      ],
    }),
  );
  const dp = s.training.dp;
  if (dp) {
    await save(
      'epsilon-per-round.svg',
      lineChart({
        title: `Privacy spent per round (ε at δ = ${dp.delta})`,
        xLabel: 'round',
        yLabel: 'ε (largest over banks)',
        series: [
          {
            name: `ε, noise multiplier ${dp.noiseMultiplier}, clip ${dp.clip}`,
            points: s.rounds.filter((r) => r.epsilon !== null).map((r) => [r.round, r.epsilon!] as const),
            color: '#9467bd',
          },
        ],
        yMin: 0,
      }),
    );
  }

  const verdict = (ok: boolean) => (ok ? '**met**' : '**missed**');
  const e = b.experiment;
  const lines = [
    `# ${title ?? 'Federated vs centralized vs local-only'}`,
    '',
    describeData(e),
    `- Model: MLP ${b.model.inputSize} → ${b.model.hidden.join(' → ')} → 1, dropout ${b.model.dropout}, TF.js ${b.backend}`,
    `- Federated: ${s.training.rounds} rounds × ${s.training.epochs} local epoch(s), batch ${s.training.batchSize}, lr ${s.training.learningRate}, SMOTE ${smoteLabel(s.training)}, quorum ${s.training.quorum}/${e.banks}, ${strategyLabel(s.training)}${dp ? `, DP clip ${dp.clip} noise ${dp.noiseMultiplier}` : ''}`,
    `- Centralized: pooled training shards, ${b.training.epochs} epochs, batch ${b.training.batchSize}, lr ${b.training.learningRate}, ${b.training.smote ? `SMOTE ${smoteLabel(b.training)}` : 'no SMOTE'}`,
    `- Local-only: each bank alone, ${l.training.rounds} × ${l.training.epochs} epochs on its shard`,
    `- All three use the same split, the same scaler (federation's scaler identical: ${s.scalerCheck.identical ? 'yes' : `no, max diff ${s.scalerCheck.maxAbsDiff}`}), the same initial weights and the same exact evaluation on the shared test set.`,
    '',
    '## Headline',
    '',
    table(
      ['', 'AUPRC', 'ROC AUC', 'F1 @ 0.5', 'best F1', 'recall @ 1 % FPR'],
      [
        [
          'centralized',
          f4(b.metrics.auprc),
          f4(b.metrics.rocAuc),
          f4(b.metrics.f1),
          f4(b.metrics.bestF1.f1),
          f4(b.metrics.recallAt1PctFpr),
        ],
        [
          `federated (round ${committed.at(-1)?.round ?? '-'})`,
          f4(s.final?.auprc),
          f4(s.final?.rocAuc),
          f4(s.final?.f1),
          f4(s.final?.bestF1.f1),
          f4(s.final?.recallAt1PctFpr),
        ],
        [
          'local-only, mean of banks',
          f4(l.summary.meanAuprc),
          f4(l.summary.meanRocAuc),
          f4(l.summary.meanF1),
          f4(l.summary.meanBestF1),
          f4(l.summary.meanRecallAt1PctFpr),
        ],
        [
          `local-only, worst bank (${l.summary.worstBank})`,
          f4(l.summary.worstAuprc),
          '',
          f4(l.summary.worstF1),
          '',
          '',
        ],
      ],
    ),
    '',
    `- Federated / centralized AUPRC: ${pct(cmp.ratio)} (target ≥ 95 %): ${verdict(cmp.meetsRatio)}${cmp.roundsTo95 !== null ? `; first reached in round ${cmp.roundsTo95}` : ''}`,
    `- Federated − local-only mean AUPRC: ${cmp.gainOverLocal >= 0 ? '+' : ''}${f4(cmp.gainOverLocal)} (target: clearly above, ≥ +${CLEAR_MARGIN}): ${verdict(cmp.beatsLocal)}`,
    `- The federated figure is the LAST round's model, not the best one (best round: ${f4(cmp.federatedBestAuprc)}, chosen on test data, so optimistic).`,
    '',
    '## Charts',
    '',
    '![AUPRC per round](auprc-per-round.svg)',
    '',
    '![F1 per round](f1-per-round.svg)',
    '',
    '![Bytes per round](bytes-per-round.svg)',
    '',
    ...(dp ? ['![Epsilon per round](epsilon-per-round.svg)', ''] : []),
    '## Federated rounds',
    '',
    'Exact metrics of each committed global model on the shared test set; "reported AUPRC" is what the federation computed itself from the banks\' summed 1000-bin histograms.',
    '',
    roundsTable(s),
    '',
    '## Local-only banks',
    '',
    table(
      ['bank', 'rows', 'frauds', 'AUPRC', 'F1 @ 0.5', 'best F1', 'recall @ 1 % FPR'],
      l.banks.map((k) => [
        k.bank,
        int(k.rows),
        int(k.frauds),
        f4(k.metrics.auprc),
        f4(k.metrics.f1),
        f4(k.metrics.bestF1.f1),
        f4(k.metrics.recallAt1PctFpr),
      ]),
    ),
    '',
    '## Centralized baseline',
    '',
    table(['metric', 'value'], metricsRows(b.metrics)),
    '',
    '## Cost',
    '',
    table(
      ['', 'value'],
      [
        ['centralized training time', secs(b.trainMs)],
        [
          'federated wall time (setup + rounds)',
          `${secs(s.totals.wallMs)} (${secs(s.totals.setupMs)} + ${secs(s.totals.trainingWallMs)})`,
        ],
        ['federated bytes on the wire, total', `${(s.totals.bytes / 1e6).toFixed(1)} MB`],
        ['local-only training time, all banks', secs(l.banks.reduce((x, k) => x + k.trainMs, 0))],
      ],
    ),
    '',
    "Banks run in one process here (two cores), so a round's training time is the sum of the banks' local training, not the slowest bank's.",
    '',
  ];
  const report = path.join(dir, 'report.md');
  await writeFile(report, lines.join('\n'));
  await writeJson(path.join(dir, 'summary.json'), { experiment: e, comparison: cmp });
  return { report, charts };
}
