/**
 * The feedback experiment's report: a summary table (false positives at the fixed recall
 * after the last round, with and without the loop, per seed and their median) and the
 * per-round series, as Markdown; the JSON holds everything.
 */
import type { ArmName, FeedbackOptions, FeedbackResult } from './harness.js';

export interface FeedbackReport {
  kind: 'feedback';
  version: 1;
  createdAt: string;
  experiment: unknown;
  settings: Omit<FeedbackOptions, 'onProgress' | 'workDir'>;
  /** One run per seed (same data, partition and split for a seed as the other commands). */
  runs: { seed: number; result: FeedbackResult }[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

/** The last round's measures of one arm of one run. */
function last(r: FeedbackResult, arm: ArmName) {
  return r.arms[arm].rounds.at(-1)!;
}

export function feedbackMarkdown(rep: FeedbackReport): string {
  const s = rep.settings;
  const recall = s.recall;
  const lines: string[] = [];
  lines.push(`# Feedback loop: false positives at recall ${recall} after ${s.rounds} rounds`, '');
  lines.push(
    `Oracle analyst: top ${s.reviewsPerRound} alerts per bank per round of the round's new transactions, decided with the true label; ` +
      `confirmed labels repeated ${s.weight}× in the next rounds' training (bank client FeedbackSource). ` +
      `Stream: the last ${pct(s.streamFraction)} of each bank's shard, one slice per round. Measured on the shared test set.`,
    '',
  );
  lines.push(
    '| seed | FP @ recall, without | FP @ recall, with | change | FPR without → with | precision without → with | AUPRC without → with | labels used (last round) | review hit rate without → with (last round) |',
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const changes: number[] = [];
  for (const { seed, result } of rep.runs) {
    const a = last(result, 'without');
    const b = last(result, 'with');
    const change = (b.atRecall.falsePositives - a.atRecall.falsePositives) / Math.max(1, a.atRecall.falsePositives);
    changes.push(change);
    lines.push(
      `| ${seed} | ${a.atRecall.falsePositives} | ${b.atRecall.falsePositives} | ${change >= 0 ? '+' : ''}${(100 * change).toFixed(1)} % | ` +
        `${pct(a.atRecall.falsePositiveRate)} → ${pct(b.atRecall.falsePositiveRate)} | ` +
        `${a.atRecall.precision.toFixed(3)} → ${b.atRecall.precision.toFixed(3)} | ${a.auprc.toFixed(4)} → ${b.auprc.toFixed(4)} | ` +
        `${b.feedbackLabels} | ${(a.confirmed / Math.max(1, a.reviewed)).toFixed(2)} → ${(b.confirmed / Math.max(1, b.reviewed)).toFixed(2)} |`,
    );
  }
  if (rep.runs.length > 1) {
    const a = rep.runs.map((r) => last(r.result, 'without').atRecall.falsePositives);
    const b = rep.runs.map((r) => last(r.result, 'with').atRecall.falsePositives);
    const m = median(changes);
    lines.push(`| median | ${median(a)} | ${median(b)} | ${m >= 0 ? '+' : ''}${(100 * m).toFixed(1)} % | | | | | |`);
  }
  lines.push('', '## False positives at the fixed recall, round by round', '');
  for (const { seed, result } of rep.runs) {
    lines.push(
      `Seed ${seed}:`,
      '',
      '| round | without | with | labels in training (with) |',
      '| --- | --- | --- | --- |',
    );
    result.arms.without.rounds.forEach((a, i) => {
      const b = result.arms.with.rounds[i]!;
      lines.push(`| ${a.round} | ${a.atRecall.falsePositives} | ${b.atRecall.falsePositives} | ${b.feedbackLabels} |`);
    });
    lines.push('');
  }
  return lines.join('\n') + '\n';
}
