/**
 * Post-conditions shared by every partitioner: at least `minFraud` fraud rows per bank
 * (each bank needs positives to learn from and to report recall on) and no empty bank.
 *
 * Partitioners hand over "units" (a row, or a whole customer for the natural scheme) so
 * that fixing the fraud minimum never splits a customer across banks.
 */

export class PartitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartitionError';
  }
}

/**
 * Moves fraud-carrying units from the bank with most frauds to banks below `minFraud`,
 * never taking a donor below the minimum itself. Mutates `bankUnits`.
 */
export function ensureMinFraud(
  bankUnits: number[][],
  unitFraud: ArrayLike<number>,
  minFraud: number,
  unitName: 'row' | 'customer',
): void {
  if (minFraud === 0) return;
  const banks = bankUnits.length;
  const fraud = bankUnits.map((units) => units.reduce((s, u) => s + unitFraud[u], 0));
  const total = fraud.reduce((s, f) => s + f, 0);
  if (total < banks * minFraud) {
    throw new PartitionError(
      `cannot give each of ${banks} banks ${minFraud} fraud row(s): the data has only ${total} ` +
        `(need ${banks * minFraud}); use fewer banks or a lower minimum (0 = no guarantee)`,
    );
  }
  for (let b = 0; b < banks; b++) {
    while (fraud[b] < minFraud) {
      // Donors by fraud count, richest first (ties: lower bank number).
      const donors = fraud
        .map((f, i) => ({ f, i }))
        .filter((x) => x.i !== b && x.f > minFraud)
        .sort((x, y) => y.f - x.f || x.i - y.i);
      let moved = false;
      for (const { i: donor } of donors) {
        const units = bankUnits[donor];
        const spare = fraud[donor] - minFraud;
        // Smallest fraud-carrying unit the donor can spare (for rows: any fraud row).
        let best = -1;
        for (let p = units.length - 1; p >= 0; p--) {
          const f = unitFraud[units[p]];
          if (f >= 1 && f <= spare && (best < 0 || f < unitFraud[units[best]])) {
            best = p;
            if (f === 1) break;
          }
        }
        if (best < 0) continue;
        const u = units[best];
        units[best] = units[units.length - 1];
        units.pop();
        bankUnits[b].push(u);
        fraud[donor] -= unitFraud[u];
        fraud[b] += unitFraud[u];
        moved = true;
        break;
      }
      if (!moved) {
        throw new PartitionError(
          `cannot give bank ${b + 1} ${minFraud} fraud row(s) without splitting a ${unitName} across banks; ` +
            'use fewer banks or a lower minimum',
        );
      }
    }
  }
}

/** Throws if any bank has no rows. */
export function ensureNonEmpty(parts: readonly ArrayLike<number>[], hint: string): void {
  const empty = parts.findIndex((p) => p.length === 0);
  if (empty >= 0) throw new PartitionError(`bank ${empty + 1} received no rows; ${hint}`);
}
