/** Test data of the console's Accounts tests (API and browser). */
import { createRng } from '@finsecure/common/rng';

/** `accounts` ordinary accounts (default 80) and one (WHALE) that spends ~50× more, as a plain export. */
export function exportCsv(seed = 7, accounts = 80): string {
  const rng = createRng(seed);
  const lines = ['Timestamp,TransactionID,AccountID,Amount,Merchant,TransactionType,Location'];
  let id = 0;
  const pad = (x: number) => String(x).padStart(2, '0');
  const add = (account: string, amount: number) => {
    const day = 1 + rng.int(28);
    const hour = 8 + rng.int(12);
    const ts = id % 2 ? `2024-03-${pad(day)}T${pad(hour)}:15:00Z` : `${pad(day)}-03-2024 ${pad(hour)}:15`;
    lines.push(`${ts},T${id++},${account},${amount.toFixed(2)},shop${rng.int(6)},purchase,"City ${rng.int(3)}, XX"`);
  };
  for (let a = 0; a < accounts; a++)
    for (let i = 0; i < 15 + rng.int(10); i++) add(`A${a}`, Math.exp(3 + 0.3 * rng.normal()));
  for (let i = 0; i < 20; i++) add('WHALE', Math.exp(7 + 0.3 * rng.normal()));
  return lines.join('\n') + '\n';
}
