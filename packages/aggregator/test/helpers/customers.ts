/**
 * Bank files for analytics-job tests: synthetic card transactions in the Kaggle layout (what
 * the bank trains on) plus the handbook's customer columns (CUSTOMER_ID, TX_DATETIME,
 * TERMINAL_ID, TX_AMOUNT) that segmentation and the account report read. Customers follow a
 * few behaviour profiles (amount, night share, weekend share), so segments exist to be found.
 */
import { writeFileSync } from 'node:fs';
import { generateSynthetic } from '@finsecure/common/data';
import { createRng } from '@finsecure/common/rng';
import type { JobRecord } from '../../src/federation/jobs/types.js';
import { api, waitFor } from './federation.js';

export interface CustomerShardOptions {
  seed: number;
  rows?: number;
  customers?: number;
  fraudRate?: number;
  /** Leave out the CUSTOMER_ID column (a bank that cannot be segmented). */
  noCustomerColumn?: boolean;
}

const PROFILES = [
  { amount: 20, night: 0.05, weekend: 0.2 },
  { amount: 150, night: 0.1, weekend: 0.3 },
  { amount: 60, night: 0.7, weekend: 0.3 },
  { amount: 40, night: 0.05, weekend: 0.8 },
];

export function writeCustomerShard(file: string, o: CustomerShardOptions): void {
  const rows = o.rows ?? 600;
  const customers = o.customers ?? 40;
  const ds = generateSynthetic({ rows, fraudRate: o.fraudRate ?? 0.08, seed: o.seed });
  const rng = createRng(o.seed * 7 + 3);
  const header = [...ds.featureNames, 'Class', 'TX_DATETIME', 'TERMINAL_ID', 'TX_AMOUNT'];
  if (!o.noCustomerColumn) header.push('CUSTOMER_ID');
  const lines = [header.join(',')];
  for (let i = 0; i < rows; i++) {
    const c = i % customers;
    const p = PROFILES[c % PROFILES.length]!;
    const day = 1 + rng.int(28);
    // 2018-04-07 is a Saturday: days ≡ 0 or 1 (mod 7) are weekend days.
    const weekendDay = [7, 8, 14, 15, 21, 22, 28][rng.int(7)]!;
    const date = rng.next() < p.weekend ? weekendDay : day;
    const hour = rng.next() < p.night ? rng.int(6) : 6 + rng.int(18);
    const dt = `2018-04-${String(date).padStart(2, '0')} ${String(hour).padStart(2, '0')}:${String(rng.int(60)).padStart(2, '0')}:00`;
    const amount = (p.amount * (0.5 + rng.next())).toFixed(2);
    const features = Array.from(ds.features.subarray(i * ds.numFeatures, (i + 1) * ds.numFeatures), (v) =>
      v.toString(),
    );
    const cells = [...features, String(ds.labels[i]), dt, `T${rng.int(30 + (c % 5) * 10)}`, amount];
    if (!o.noCustomerColumn) cells.push(`C${o.seed}-${c}`);
    lines.push(cells.join(','));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** Starts a job and waits until it completed or failed. */
export async function runJob(
  agg: { url: string },
  kind: 'segmentation' | 'calibration',
  params: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<JobRecord> {
  const r = await api<JobRecord>(agg, 'POST', `/api/jobs/${kind}`, params);
  if (r.status !== 202) throw new Error(`job refused: ${r.status} ${JSON.stringify(r.body)}`);
  return waitJob(agg, r.body.id, timeoutMs);
}

export function waitJob(agg: { url: string }, id: number, timeoutMs = 60_000): Promise<JobRecord> {
  return waitFor(
    `job ${id} to end`,
    async () => {
      const j = (await api<JobRecord>(agg, 'GET', `/api/jobs/${id}`)).body;
      return j.status === 'completed' || j.status === 'failed' ? j : null;
    },
    timeoutMs,
    50,
  );
}
