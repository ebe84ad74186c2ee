/**
 * Customer columns for the `npm start` demo. The synthetic card data (Kaggle layout: Time,
 * V1..V28, Amount, Class) has no customer id, so a segmentation would find nothing to
 * segment: every bank declines naming the missing CUSTOMER_ID column. This adds the handbook's
 * customer columns to each generated shard once (CUSTOMER_ID, TX_DATETIME, TERMINAL_ID,
 * TX_AMOUNT): rows are dealt to ~1 customer per 25 rows, seeded; each customer follows one of
 * four habits (daytime, night, weekend, frequent-terminal), which set the hour, the day and
 * the terminals; TX_DATETIME is 2018-04-01 plus the row's Time; TX_AMOUNT is its Amount. The
 * training loader reads the Kaggle columns and ignores these. Demo data only: a real bank's
 * file carries its own customers.
 */
import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createRng } from '@finsecure/common/rng';

const BASE = Date.UTC(2018, 3, 1); // 2018-04-01, a Sunday

function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Rewrites `file` with the customer columns appended, unless its header already has
 * CUSTOMER_ID or lacks Time and Amount (then it is left alone). Returns whether it changed.
 */
export async function addDemoCustomers(file: string, seed: number): Promise<boolean> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const tmp = `${file}.customers-${process.pid}`;
  const out = createWriteStream(tmp);
  const rng = createRng(seed);
  let header: string[] | null = null;
  let time = -1;
  let amount = -1;
  let customers = 1;
  let row = 0;
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  for await (const line of lines) {
    if (header === null) {
      header = line.split(',');
      time = header.indexOf('Time');
      amount = header.indexOf('Amount');
      if (header.includes('CUSTOMER_ID') || time < 0 || amount < 0) {
        lines.close();
        out.destroy();
        rmSync(tmp, { force: true });
        return false;
      }
      await write(`${line},CUSTOMER_ID,TX_DATETIME,TERMINAL_ID,TX_AMOUNT\n`);
      continue;
    }
    if (line === '') continue;
    row++;
    customers = Math.max(customers, Math.ceil(row / 25));
    const c = rng.int(customers);
    const habit = c % 4;
    const cells = line.split(',');
    const seconds = Number(cells[time]);
    let ms = BASE + (Number.isFinite(seconds) ? seconds : 0) * 1000;
    const d = new Date(ms);
    // Move the hour (and for weekend customers the day) to the customer's habit, keeping minutes.
    const hour = habit === 1 ? rng.int(6) : rng.next() < 0.05 ? rng.int(6) : 7 + rng.int(16);
    ms = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hour, d.getUTCMinutes(), d.getUTCSeconds());
    if (habit === 2 && rng.next() < 0.8) ms += ((6 - new Date(ms).getUTCDay() + 7) % 7) * 86_400_000; // a Saturday
    const terminal = habit === 3 ? rng.int(200) : (c * 7 + rng.int(3)) % 200;
    await write(`${line},C${c},${stamp(ms)},T${terminal},${cells[amount]}\n`);
  }
  out.end();
  await once(out, 'finish');
  renameSync(tmp, file);
  return true;
}
