/**
 * ε in API responses. A bank that clips but adds no noise (noise multiplier 0) has spent
 * ε = ∞; JSON has no ∞ and JSON.stringify writes null, which the API also uses for "this
 * bank never used DP". So every ε leaves the server as a finite number or the string
 * "Infinity" (`EpsilonValue` in @finsecure/common/api).
 */
import type { BankView, EpsilonValue, RoundRecord } from '@finsecure/common/api';

/** The OpenAPI (JSON Schema) form of an `EpsilonValue`. */
export const EpsilonSchema = {
  description: 'ε (Rényi-DP accountant, converted at δ). The string "Infinity" when the bank added no noise.',
  oneOf: [
    { type: 'number', minimum: 0 },
    { type: 'string', enum: ['Infinity'] },
  ],
} as const;

export function epsilonForJson(e: number): EpsilonValue {
  return e === Number.POSITIVE_INFINITY ? 'Infinity' : e;
}

export function epsilonsForJson(map: Record<string, number>): Record<string, EpsilonValue> {
  const out: Record<string, EpsilonValue> = {};
  for (const [bankId, e] of Object.entries(map)) out[bankId] = epsilonForJson(e);
  return out;
}

/**
 * A JSON.stringify replacer for objects that carry ε in fields named `epsilon` (round
 * records' `banks[id].epsilon`, bank views): ∞ becomes "Infinity". Other numbers, and
 * ε = null ("no DP"), pass unchanged.
 */
export function epsilonReplacer(key: string, value: unknown): unknown {
  return key === 'epsilon' && value === Number.POSITIVE_INFINITY ? 'Infinity' : value;
}

/** A round record as the API returns it: each bank's ε explicit (copied only when one is ∞). */
export function roundForJson(round: RoundRecord): RoundRecord {
  const infinite = Object.values(round.banks).some((b) => b.epsilon === Number.POSITIVE_INFINITY);
  if (!infinite) return round;
  const banks: RoundRecord['banks'] = {};
  for (const [id, b] of Object.entries(round.banks)) {
    banks[id] = typeof b.epsilon === 'number' ? { ...b, epsilon: epsilonForJson(b.epsilon) } : b;
  }
  return { ...round, banks };
}

/** A bank view as the API returns it: ε explicit. */
export function bankViewForJson(bank: BankView): BankView {
  return typeof bank.epsilon === 'number' ? { ...bank, epsilon: epsilonForJson(bank.epsilon) } : bank;
}
