/**
 * The bank's customers as segmentation sees them: behaviour features per customer computed
 * from the bank's own transaction file (common/kmeans/features.ts), read once and cached.
 * A file without the customer column cannot be segmented: the reason names the file and
 * the missing column, and the bank declines every segmentation stage with it.
 */
import { customerFeaturesFromCsv, CUSTOMER_FEATURES, type Points } from '@finsecure/common/kmeans';
import { outwardFailure } from '../outward.js';

export interface Customers {
  ids: string[];
  points: Points;
  /** Per customer: 1 if any of their transactions is labelled fraud. */
  fraud: Uint8Array;
  /** False when the file has no fraud label column (no fraud counts are released then). */
  labelled: boolean;
  /** First to last transaction day, inclusive. */
  periodDays: number;
  features: readonly string[];
}

/** `reason` goes to the aggregator (outward.ts), `detail` only to the bank's log. */
export type CustomersOrReason = { ok: true; customers: Customers } | { ok: false; reason: string; detail?: string };

/** Reads `file` once; later calls return the same result (or the same reason). */
export class CustomerCache {
  private pending: Promise<CustomersOrReason> | null = null;

  constructor(private readonly file: string) {}

  get(): Promise<CustomersOrReason> {
    this.pending ??= load(this.file);
    return this.pending;
  }
}

async function load(file: string): Promise<CustomersOrReason> {
  try {
    const acc = await customerFeaturesFromCsv(file);
    const { ids, points, fraud } = acc.finish();
    return {
      ok: true,
      customers: {
        ids,
        points,
        fraud,
        labelled: acc.labelled,
        periodDays: acc.periodDays,
        features: CUSTOMER_FEATURES,
      },
    };
  } catch (err) {
    // The aggregator learns the file's base name, line and column; the message (the path, a cell's
    // value) stays in the bank's log.
    return {
      ok: false,
      reason: outwardFailure('computing customer features', err),
      detail: `cannot compute customer features: ${(err as Error).message}`,
    };
  }
}
