/**
 * Secure aggregation against plaintext in research reports: the same federation run twice
 * (plaintext FedAvg and SecAgg+ FedAvg, same seeds and shards), AUPRC per round side by side
 * with the difference, and where a secure round's time goes (mean ms per stage, from the
 * aggregator's stored RoundRecord.stages). The target is a 20-round AUPRC within 0.005
 * of plaintext; the fixed-point bound makes the two models differ by about n · 2^−f per coordinate.
 */
import type { SimulationResult } from './simulate.js';
import { f4, table } from './report.js';

/** Largest |secure − plaintext| final AUPRC for which the two runs count as equivalent (issue 13). */
export const SECURE_AUPRC_TOLERANCE = 0.005;

/** Mean time (ms) and total dropouts per stage over a run's committed rounds, in workflow order. */
export function stageMeans(r: SimulationResult): { name: string; meanMs: number; dropped: number; rounds: number }[] {
  const by = new Map<string, { total: number; dropped: number; rounds: number }>();
  for (const round of r.rounds) {
    if (round.status !== 'committed') continue;
    for (const s of round.stages ?? []) {
      const e = by.get(s.name) ?? { total: 0, dropped: 0, rounds: 0 };
      e.total += s.ms;
      e.dropped += s.dropped;
      e.rounds++;
      by.set(s.name, e);
    }
  }
  return [...by].map(([name, e]) => ({ name, meanMs: e.total / e.rounds, dropped: e.dropped, rounds: e.rounds }));
}

const meanRoundMs = (r: SimulationResult): number => {
  const c = r.rounds.filter((x) => x.status === 'committed' && x.durations.totalMs !== undefined);
  return c.length ? c.reduce((s, x) => s + x.durations.totalMs!, 0) / c.length : NaN;
};

/**
 * The Markdown section "Secure aggregation vs plaintext": one row per round (plaintext AUPRC,
 * secure AUPRC, difference, round time of each), a final row, and the secure run's stage times.
 * Both results must come from the same experiment (the caller checks the fingerprint).
 */
export function secureComparisonMarkdown(plain: SimulationResult, secure: SimulationResult): string {
  const byRound = new Map(secure.rounds.map((r) => [r.round, r]));
  const rows = plain.rounds.map((p) => {
    const s = byRound.get(p.round);
    const pa = p.metrics?.auprc;
    const sa = s?.metrics?.auprc;
    return [
      p.round,
      f4(pa),
      f4(sa),
      pa !== undefined && sa !== undefined ? (sa - pa).toFixed(4) : '—',
      p.durations.totalMs !== undefined ? (p.durations.totalMs / 1000).toFixed(2) : '—',
      s?.durations.totalMs !== undefined ? (s.durations.totalMs / 1000).toFixed(2) : s ? '—' : 'missing',
    ];
  });
  const pf = plain.final?.auprc;
  const sf = secure.final?.auprc;
  const diff = pf !== undefined && sf !== undefined ? sf - pf : NaN;
  rows.push([
    '**final**',
    f4(pf),
    f4(sf),
    Number.isFinite(diff) ? diff.toFixed(4) : '—',
    (meanRoundMs(plain) / 1000).toFixed(2) + ' (mean)',
    (meanRoundMs(secure) / 1000).toFixed(2) + ' (mean)',
  ]);
  const stages = stageMeans(secure);
  const gap = Number.isFinite(diff) ? Math.abs(diff).toFixed(4) : 'n/a';
  const dp = plain.training.dp;
  // With DP the two arms are two noise mechanisms at the same ε: no equivalence to judge.
  const verdict = dp
    ? `With DP (clip ${dp.clip}, z ${dp.noiseMultiplier}) the two arms add different noise at the same ε: in the plaintext arm each bank adds N(0, (zC)²) to its own update; in the secure arm each adds only its share, σ = zC/√q (distributed DP, common/secagg/distributed-dp.ts), so the sum carries about q times less noise variance. Final AUPRC differs by ${gap}; that difference is the noise's, not secure aggregation's, so no equivalence is judged here (run both without DP to compare the aggregation itself).`
    : `The same federation (same shards, seeds and settings) run twice: plaintext FedAvg, and FedAvg over masked updates (SecAgg+: the aggregator only unmasks their sum). Final AUPRC differs by ${gap} (${Number.isFinite(diff) && Math.abs(diff) <= SECURE_AUPRC_TOLERANCE ? 'within' : 'NOT within'} ${SECURE_AUPRC_TOLERANCE}).`;
  return [
    '## Secure aggregation vs plaintext',
    '',
    verdict,
    '',
    table(
      ['round', 'plaintext AUPRC', 'secure AUPRC', 'secure − plaintext', 'plaintext s/round', 'secure s/round'],
      rows,
    ),
    '',
    ...(stages.length
      ? [
          "Where a secure round's time goes (mean over committed rounds, from the aggregator's stored stages):",
          '',
          table(
            ['stage', 'mean ms', 'banks dropped (all rounds)'],
            stages.map((s) => [s.name.replace(/_/g, ' '), s.meanMs.toFixed(0), s.dropped]),
          ),
          '',
        ]
      : []),
  ].join('\n');
}
