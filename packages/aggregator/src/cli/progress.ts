/** One line of round progress for the terminal of `npm start` (pure, so it is tested directly). */
import type { StatusView } from '@finsecure/common/api';

export type ProgressRound = StatusView['currentRound'];

const STAGE: Record<string, string> = {
  selecting: 'selecting banks',
  training: 'fit',
  aggregating: 'aggregating',
  evaluating: 'evaluation',
};

/**
 * "round 7 fit: 2 of 3 banks reported (bank-1, bank-2), closes in 41 s"; '' when no round runs.
 * Lists at most 5 bank ids, then "+N more". Without `withDeadline` the line changes only when a
 * bank reports or drops (for logs, where a line is printed per change).
 */
export function formatProgress(round: ProgressRound, withDeadline = true): string {
  if (!round) return '';
  const stage = STAGE[round.phase] ?? round.phase;
  const p = round.progress;
  if (!p || round.phase === 'aggregating' || round.phase === 'selecting') return `  round ${round.id} ${stage}…`;
  const names = p.reportedBanks.slice(0, 5).join(', ');
  const more = p.reported > 5 ? ` +${p.reported - 5} more` : '';
  const dropped = p.dropped > 0 ? `, ${p.dropped} dropped` : '';
  const closes =
    withDeadline && p.closesInMs !== null ? `, closes in ${Math.ceil(p.closesInMs / 1000)} s at the latest` : '';
  return `  round ${round.id} ${stage}: ${p.reported} of ${p.asked} banks reported${names ? ` (${names}${more})` : ''}${dropped}${closes}`;
}
