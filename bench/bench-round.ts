/**
 * The round a strategy benchmark aggregates (aggregation, robust-aggregation): `banks` selected
 * banks `bank-0`…, bank i declaring 1000 + i examples (distinct FedAvg weights), and a round
 * context over `global` with a fixed training config.
 */
import type { BankCandidate, RoundContext } from '@finsecure/common/strategy';
import type { Rng } from '@finsecure/common/rng';

export function benchRound(
  banks: number,
  global: Float32Array,
  rng: Rng,
): { selected: BankCandidate[]; ctx: RoundContext } {
  const selected: BankCandidate[] = Array.from({ length: banks }, (_, i) => ({
    bankId: `bank-${i}`,
    numExamples: 1000 + i,
  }));
  const ctx: RoundContext = {
    roundId: 1,
    global,
    config: { epochs: 1, batchSize: 256, learningRate: 0.001, smoteRatio: 0, smoteK: 5, updateEncoding: 'float32' },
    rng,
  };
  return { selected, ctx };
}
