/**
 * "Similar past cases": the stored alerts nearest to a transaction, by Euclidean distance
 * in the model's scaled feature space (each feature in standard deviations of the
 * federation's scaler, so Amount does not drown the rest). A linear scan of the most
 * recent alerts (bounded in db.alertFeatures), keeping the k best in a small sorted list.
 */
import type { ConsoleDb } from './db.js';

export interface Neighbour {
  id: number;
  distance: number;
}

/**
 * @param std per-feature scale (the model's scaler std; ones when the model has none)
 * @returns up to k neighbours, nearest first
 */
export function nearestAlerts(
  db: ConsoleDb,
  alertId: number,
  x: ArrayLike<number>,
  std: ArrayLike<number>,
  k = 5,
): Neighbour[] {
  const names = db.featureNamesJson(alertId);
  if (names === null) return [];
  const best: Neighbour[] = [];
  for (const { id, f } of db.alertFeatures(alertId, names)) {
    let s = 0;
    for (let j = 0; j < f.length; j++) {
      const t = (f[j]! - x[j]!) / (std[j] || 1);
      s += t * t;
    }
    if (best.length === k && s >= best[k - 1]!.distance) continue;
    best.push({ id, distance: s });
    best.sort((a, b) => a.distance - b.distance || a.id - b.id);
    if (best.length > k) best.pop();
  }
  return best.map((b) => ({ id: b.id, distance: Math.sqrt(b.distance) }));
}
