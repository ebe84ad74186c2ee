/**
 * The comparison report: centralized, federated and local-only results side by side (report.md,
 * with its charts as SVG files beside it), and the figures it judges them by (compareResults).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EvalMetrics } from './evaluate.js';
import type { BaselineResult, LocalOnlyResult } from './training.js';
import type { SimulationResult } from './simulate.js';
import { barChart, lineChart } from './svg.js';
import {
  describeData,
  f3,
  f4,
  int,
  metricsRows,
  pct,
  roundsTable,
  secs,
  smoteLabel,
  strategyLabel,
  table,
  writeJson,
} from './report.js';

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
  // Without noise (z = 0) ε is infinite: there is nothing to plot (the tables say ∞).
  if (dp && dp.noiseMultiplier > 0) {
    await save(
      'epsilon-per-round.svg',
      lineChart({
        title: `Privacy spent, cumulative after each round (ε at δ = ${dp.delta})`,
        xLabel: 'round',
        yLabel: 'cumulative ε (largest over banks)',
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
    ...(dp && dp.noiseMultiplier > 0 ? ['![Epsilon per round](epsilon-per-round.svg)', ''] : []),
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
