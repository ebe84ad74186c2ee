/**
 * The checks an update's content must pass before it reaches the strategy, as one pure
 * function: the shape of its tensors, its counts against what the bank declared when it joined,
 * its loss, its norm and its DP declaration. Each refusal is a sentence naming the value and the
 * limit (it goes to the bank, the audit log and the round record).
 */
import type { Hello, TrainingConfig, Update } from '@finsecure/common/protocol';
import { l2Norm } from '@finsecure/common/dp';
import { MAX_TRAINED_PER_EXAMPLE } from '@finsecure/common/strategy';
import { judgeUpdateNorm, updateNormRange } from '../trust/update-norm.js';

export interface UpdateLimits {
  /** Number of weights of the model (the one tensor "update" must have this many values). */
  parameters: number;
  maxUpdateNorm: number;
  /** Largest DP noise multiplier an update may declare (rules.maxNoiseMultiplier). */
  maxNoiseMultiplier: number;
  /** The DP the round requires, if any. */
  dp: TrainingConfig['dp'];
}

/**
 * Returns the reason the update is refused, or null if it may be added.
 * `tensors`: the decoded frame's tensors by name.
 */
export function checkUpdate(
  msg: Update,
  tensors: ReadonlyMap<string, { data: Float32Array; sumOfSquares?: number }>,
  hello: Hello,
  limits: UpdateLimits,
): string | null {
  const tensor = tensors.get('update');
  if (!tensor || tensor.data.length !== limits.parameters || tensors.size !== 1) {
    const got = tensor
      ? tensors.size !== 1
        ? `${tensors.size} tensors [${[...tensors.keys()].join(', ')}]`
        : `${tensor.data.length} values`
      : `tensors [${[...tensors.keys()].join(', ')}]`;
    return `wrong weights: expected one tensor "update" with ${limits.parameters} values, got ${got}`;
  }
  if (msg.kind !== 'delta') return `wrong weights: kind "${msg.kind}" is not supported, send a delta`;
  if (msg.numExamples > hello.numExamples)
    return `numExamples ${msg.numExamples} exceeds the ${hello.numExamples} training examples this bank declared when it joined`;
  if (msg.numTrained > MAX_TRAINED_PER_EXAMPLE * msg.numExamples)
    return `numTrained ${msg.numTrained} exceeds ${MAX_TRAINED_PER_EXAMPLE} × numExamples ${msg.numExamples} (SMOTE at most doubles a bank's rows)`;
  if (msg.loss > 1e6) return `loss ${msg.loss} is out of range`;
  // The bound applies to the clipped part: an update that declares DP may be as long as its
  // clip plus the high-probability norm of its noise, and no shorter than that noise allows.
  const range = updateNormRange(limits.maxUpdateNorm, msg.dp, limits.parameters, {
    maxNoiseMultiplier: limits.maxNoiseMultiplier,
  });
  if (!range.ok) return range.reason;
  // The decoder summed the squares while checking that every value is finite (one pass).
  const norm = tensor.sumOfSquares !== undefined ? Math.sqrt(tensor.sumOfSquares) : l2Norm(tensor.data);
  const bad = judgeUpdateNorm(norm, range);
  if (bad) return bad;
  const required = limits.dp;
  if (required && required.noiseMultiplier > 0 && (!msg.dp || msg.dp.noiseMultiplier < required.noiseMultiplier)) {
    const declared = msg.dp ? msg.dp.noiseMultiplier : 'none';
    return `differential privacy required: noise multiplier ≥ ${required.noiseMultiplier}, update declared ${declared}`;
  }
  return null;
}

/** Short, stable reason codes for metrics labels (the full reason goes to the audit log). */
export function reasonCode(reason: string): string {
  const m =
    /^(stale round id|duplicate|late|bank \S+ was not selected|update computed from model version|wrong weights|non-finite|frame|unknown)/.exec(
      reason,
    );
  if (!m) return 'other';
  const code = m[1]!;
  if (code.startsWith('bank ')) return 'not_selected';
  if (code.startsWith('update computed')) return 'stale_model';
  return code.replace(/ /g, '_');
}
