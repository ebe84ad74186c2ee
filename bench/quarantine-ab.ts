/**
 * The quarantine rule's cost per round, interleaved A/B in one process: a real SQLite store with
 * 500 committed rounds of N banks each (the history QUARANTINE_HISTORY_ROUNDS the rule reads).
 *
 * - A, what the federation did before the QuarantineLedger: per round, read the last 500 stored
 *   rounds and the lift list twice (selection, then the commit). Only the reads are timed, not the
 *   recount over them that followed, so A is a lower bound of that path.
 * - B, the ledger (federation/quarantine.ts): per round, one look-up per candidate at selection
 *   and one `commit` of the new round (building the round's record included), timed over 20
 *   rounds a sample. Its one-off replay (start-up, after a lift or a change of
 *   the rule) is printed apart.
 *
 * Usage: `npx tsx bench/quarantine-ab.ts [banks=1000] [repeats=5]`; prints CPU ms per round
 * (min / median / max over the repeats, alternating A and B) and the ratio of medians.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RoundRecord } from '@finsecure/common/api';
import * as aggregator from '@finsecure/aggregator';
import { startBenchAggregator } from './bench-federation.js';
import { median } from './lib.js';

const banks = Number(process.argv[2] ?? 1000);
const repeats = Number(process.argv[3] ?? 5);
const ids = Array.from({ length: banks }, (_, i) => `bank-${i + 1}`);

/** A committed Multi-Krum round: every tenth bank left out, the others weighted alike. */
function round(id: number): RoundRecord {
  return {
    id,
    status: 'committed',
    startedAt: id * 1000,
    endedAt: id * 1000 + 500,
    config: {},
    selected: ids,
    participants: ids,
    banks: Object.fromEntries(
      ids.map((b, i) => [
        b,
        (i + id) % 10 === 0
          ? {
              bytesUp: 16_432,
              bytesDown: 16_432,
              weight: 0,
              reputation: { excluded: 'multikrum: not among the lowest' },
            }
          : { bytesUp: 16_432, bytesDown: 16_432, weight: 1 / banks, loss: 0.1 },
      ]),
    ),
    durations: { totalMs: 500 },
    baseModelVersion: id - 1,
    modelVersion: id,
    metrics: null,
    failureReason: null,
  };
}

/** CPU ms (user + system) of this process while `fn` runs. */
async function cpuOf(fn: () => Promise<unknown> | unknown): Promise<number> {
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

/** What the federation read per look at the rule, before the ledger. */
async function readHistory(store: aggregator.Store) {
  const rounds = await store.listRounds({ limit: aggregator.QUARANTINE_HISTORY_ROUNDS });
  const lifts = aggregator.parseLifts(await store.getSetting(aggregator.QUARANTINE_LIFTS_SETTING));
  const held = aggregator.parseHeld(await store.getSetting(aggregator.QUARANTINE_HELD_SETTING));
  return { rounds, lifts, held };
}

const parent = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const dir = await mkdtemp(path.join(parent, 'finsecure-quarantine-ab-'));
const agg = await startBenchAggregator({ banks: 1, rounds: 1, dataDir: dir });
try {
  for (let id = 1; id <= aggregator.QUARANTINE_HISTORY_ROUNDS; id++) await agg.store.saveRound(round(id));
  const load = os.loadavg()[0]!;
  let ledger: aggregator.QuarantineLedger | null = null;
  const replayMs = await cpuOf(async () => {
    const h = await readHistory(agg.store);
    ledger = aggregator.QuarantineLedger.replay(h.rounds, h.lifts, h.held, 3);
  });
  let next = aggregator.QUARANTINE_HISTORY_ROUNDS + 1;
  const before = () => Promise.all([readHistory(agg.store), readHistory(agg.store)]);
  // B is cheap: 20 rounds per sample, so that one sample is not just the collection of A's garbage.
  const B_ROUNDS = 20;
  const after = () => {
    let selected = 0;
    for (let k = 0; k < B_ROUNDS; k++) {
      selected += ids.filter((b) => !ledger!.stateOf(b).quarantined).length;
      ledger!.commit(round(next++));
    }
    return selected;
  };
  await before(); // warm-up
  after();
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < repeats; r++) {
    a.push(await cpuOf(before));
    b.push((await cpuOf(after)) / B_ROUNDS);
  }
  const fmt = (xs: number[]) =>
    `${Math.min(...xs).toFixed(2)} / ${median(xs).toFixed(2)} / ${Math.max(...xs).toFixed(2)} ms CPU per round`;
  console.log(
    `load average ${load.toFixed(2)}; ${banks} banks, ${aggregator.QUARANTINE_HISTORY_ROUNDS} stored rounds; ${repeats} interleaved repeats`,
  );
  console.log(`A, two reads of the history per round (lower bound): ${fmt(a)}`);
  console.log(`B, the ledger (look-ups + one commit):               ${fmt(b)}`);
  console.log(`ratio of medians B / A: ${(median(b) / median(a)).toFixed(5)}`);
  console.log(`the ledger's replay (start-up, after a lift or a rule change): ${replayMs.toFixed(1)} ms CPU, once`);
} finally {
  await agg.close();
  await rm(dir, { recursive: true, force: true });
}
