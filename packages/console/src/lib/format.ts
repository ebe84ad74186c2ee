/** Number formatting for analysts: probabilities that keep their rank near 1, amounts, dates. */

/**
 * A fraud probability with enough digits to tell the top alerts apart: near 1 it is written
 * as "1 − ε" with ε = σ(−z) from the logit (the float64 probability itself may round to 1).
 */
export function formatProbability(p: number, logit: number): string {
  if (p >= 0.9995) {
    const eps = logit > 0 ? Math.exp(-logit) / (1 + Math.exp(-logit)) : 1 - p;
    return `1 − ${eps.toExponential(1)}`;
  }
  if (p < 0.0005) return p.toExponential(1);
  return p.toFixed(3);
}

export function formatAmount(a: number | null): string {
  return a === null ? '—' : a.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export const DECISION_LABEL: Record<string, string> = {
  open: 'Open',
  confirmed_fraud: 'Confirmed fraud',
  false_positive: 'False positive',
  not_sure: 'Not sure',
};
