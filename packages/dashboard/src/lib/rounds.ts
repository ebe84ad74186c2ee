/** Derived per-round figures for the charts and tables. */
import type { BankRoundStats, RoundRecord } from './types';

export const FINISHED = new Set(['committed', 'failed']);

export function isFinished(r: RoundRecord): boolean {
  return FINISHED.has(r.status);
}

export function encodingOf(r: RoundRecord): string {
  const training = (r.config as { training?: { updateEncoding?: string } }).training;
  return training?.updateEncoding ?? 'float32';
}

export function bytesOf(r: RoundRecord): { up: number; down: number } {
  let up = 0;
  let down = 0;
  for (const b of Object.values(r.banks)) {
    up += b.bytesUp ?? 0;
    down += b.bytesDown ?? 0;
  }
  return { up, down };
}

/** parameters × 4 / updateBytes: how much smaller than raw float32 the update was. */
export function compressionRatio(
  r: RoundRecord,
  stats: BankRoundStats | undefined,
  fallbackParameters?: number | null,
): number | null {
  const parameters = (typeof r.config.parameters === 'number' ? r.config.parameters : null) ?? fallbackParameters;
  if (!stats?.updateBytes || !parameters) return null;
  return (parameters * 4) / stats.updateBytes;
}

/**
 * `fallbackParameters`: the current model's size, for rounds whose stored record lacks
 * `parameters` (the architecture does not change between rounds).
 */
export function meanCompression(r: RoundRecord, fallbackParameters?: number | null): number | null {
  const ratios = Object.values(r.banks)
    .map((b) => compressionRatio(r, b, fallbackParameters))
    .filter((x): x is number => x !== null);
  return ratios.length ? ratios.reduce((a, b) => a + b, 0) / ratios.length : null;
}

/** All bank ids that appear in any of the rounds, sorted. */
export function banksInRounds(rounds: RoundRecord[]): string[] {
  const ids = new Set<string>();
  for (const r of rounds) for (const id of Object.keys(r.banks)) ids.add(id);
  return [...ids].sort();
}

export const PHASES = ['selecting', 'training', 'aggregating', 'evaluating'] as const;

export const BANK_COLORS = ['#0891b2', '#c026d3', '#ea580c', '#65a30d', '#7c3aed', '#db2777', '#0d9488', '#ca8a04'];

export function bankColor(ids: string[], id: string): string {
  const i = ids.indexOf(id);
  return BANK_COLORS[(i < 0 ? 0 : i) % BANK_COLORS.length]!;
}
