/**
 * Audit appends, interleaved A/B in one process (issue 14 item 1): the SQLite store's cost per
 * entry when every append is its own commit with its own Ed25519 signature of the head (appends
 * awaited one by one: each is a batch of one, which is what every append cost before the group
 * commit) against the group commit the federation now gets (the appends of one batch window,
 * here N at once: one transaction, one signature). Same store, same entries, SQLite on tmpfs
 * (synchronous = FULL, so on a disk the one-by-one path also pays an fsync per entry).
 *
 * Usage: `npx tsx bench/audit-append-ab.ts [entries=1000] [repeats=5]`; prints CPU ms
 * (min / median / max over the repeats, alternating the two paths) and the ratio of medians.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AuditInput, Store } from '@finsecure/aggregator';
import { startBenchAggregator } from './bench-federation.js';
import { median } from './lib.js';

const entries = Number(process.argv[2] ?? 1000);
const repeats = Number(process.argv[3] ?? 5);
const input = (i: number): AuditInput => ({
  at: Date.now(),
  type: 'update.accepted',
  actor: `bank-${i}`,
  details: { roundId: 1, bytes: 16_432, numExamples: 1_000 + i },
});

/** CPU ms (user + system) of this process while `fn` runs. */
async function cpuOf(fn: () => Promise<unknown>): Promise<number> {
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

const oneByOne = async (store: Store) => {
  for (let i = 0; i < entries; i++) await store.appendAudit(input(i));
};
const oneTurn = (store: Store) => Promise.all(Array.from({ length: entries }, (_, i) => store.appendAudit(input(i))));

const parent = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const dir = await mkdtemp(path.join(parent, 'finsecure-audit-ab-'));
const agg = await startBenchAggregator({ banks: 1, rounds: 1, dataDir: dir });
try {
  const load = os.loadavg()[0]!;
  await oneByOne(agg.store);
  await oneTurn(agg.store); // warm-up
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < repeats; r++) {
    a.push(await cpuOf(() => oneByOne(agg.store)));
    b.push(await cpuOf(() => oneTurn(agg.store)));
  }
  const v = await agg.store.verifyAudit();
  const fmt = (xs: number[]) =>
    `${Math.min(...xs).toFixed(1)} / ${median(xs).toFixed(1)} / ${Math.max(...xs).toFixed(1)} ms CPU per ${entries} entries ` +
    `(median ${((1000 * median(xs)) / entries).toFixed(1)} µs per entry)`;
  console.log(
    `load average ${load.toFixed(2)}; ${repeats} interleaved repeats; chain verifies: ${v.ok} (${v.entries} entries)`,
  );
  console.log(`one commit + signature per entry: ${fmt(a)}`);
  console.log(`group commit (one batch):         ${fmt(b)}`);
  console.log(`ratio of medians: ${(median(b) / median(a)).toFixed(3)}`);
} finally {
  await agg.close();
  await rm(dir, { recursive: true, force: true });
}
