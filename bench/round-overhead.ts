/**
 * `round-overhead`: what one federated round costs beyond local training. A real
 * aggregator (in this process: startAggregator, loopback, temporary SQLite) runs rounds
 * with 10 lightweight bank clients that speak the real protocol over real WebSockets
 * from a separate child process (so their work does not share the aggregator's event
 * loop). A client "trains" by waiting a random 50–150 ms, then sends a precomputed delta
 * of the MLP's 4,097 parameters; it answers evaluation requests at once with a
 * precomputed 1000-bin histogram.
 *
 * Per round: wall time = from the aggregator starting the round (RoundRecord.startedAt)
 * until the LAST bank has received round_committed (assignment, updates, FedAvg,
 * evaluation requests, evaluations, commit with its SQLite writes, broadcast); overhead
 * = wall time − the slowest bank's training time (assignment received → update sent).
 *
 * The light client is in bench/light-bank.ts and the aggregator side in
 * bench/bench-federation.ts (both shared with bench/scale.ts); `overheadRows` below is
 * used by bench/scale.ts too.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame } from '@finsecure/common/protocol';
import type { RoundRecord } from '@finsecure/common/api';
import {
  bytes,
  gc,
  machineInfo,
  median,
  num,
  printResult,
  target,
  writeResult,
  type Benchmark,
  type BenchContext,
  type BenchResult,
} from './lib.js';
import { registerBanks, trainToEnd, withLightFederation } from './bench-federation.js';
import { MLP_PARAMETERS, type RoundTiming } from './light-bank.js';

const THIS_FILE = fileURLToPath(import.meta.url);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export interface RoundOverheadRow {
  round: number;
  wallMs: number;
  slowestTrainMs: number;
  overheadMs: number;
  /** Aggregator-side phases (RoundRecord.durations). */
  fitStageMs: number;
  aggregationMs: number;
  evaluationMs: number;
  /** Round start → first assignment received by a bank. */
  dispatchMs: number;
  /** Commit decided → last bank received round_committed (SQLite commit + broadcast). */
  commitMs: number;
}

export function overheadRows(records: RoundRecord[], timings: RoundTiming[]): RoundOverheadRow[] {
  const byRound = new Map(timings.map((t) => [t.round, t]));
  const rows: RoundOverheadRow[] = [];
  for (const r of records) {
    const t = byRound.get(r.id);
    if (r.status !== 'committed' || !t || t.lastCommit === 0) continue;
    const wallMs = t.lastCommit - r.startedAt;
    const d = r.durations;
    rows.push({
      round: r.id,
      wallMs,
      slowestTrainMs: t.maxTrainMs,
      overheadMs: wallMs - t.maxTrainMs,
      fitStageMs: d.trainingMs ?? NaN,
      aggregationMs: d.aggregationMs ?? NaN,
      evaluationMs: d.evaluationMs ?? NaN,
      dispatchMs: t.firstAssign - r.startedAt,
      commitMs: t.lastCommit - (r.endedAt ?? t.lastCommit),
    });
  }
  return rows;
}

interface Measured {
  where: string;
  rows: RoundOverheadRow[];
  all: RoundOverheadRow[];
  failed: number;
  totalMs: number;
  errors: string[];
}

/** Runs warm-up + measured rounds with the aggregator's SQLite database under `parent`. */
async function measure(
  ctx: BenchContext,
  parent: string,
  where: string,
  banks: number,
  warmup: number,
  measured: number,
): Promise<Measured> {
  return withLightFederation(parent, { banks, rounds: warmup + measured }, async (agg, light) => {
    const creds = await registerBanks(agg, banks);
    const ready = await light.start({
      wsUrl: `${agg.wsUrl}/ws/bank`,
      banks: creds,
      trainMs: [50, 150],
      parameters: MLP_PARAMETERS,
      numFeatures: 30,
      concurrency: banks,
    });
    if (ready.failed > 0) throw new Error(`${ready.failed} light banks could not connect`);
    ctx.log(
      `${where}: ${banks} banks connected in ${ready.connectMs.toFixed(0)} ms; running ${warmup} + ${measured} rounds`,
    );
    gc();
    const t0 = performance.now();
    await trainToEnd(agg, 600_000);
    const totalMs = performance.now() - t0;
    const timings = await light.report();
    const records = await agg.store.listRoundsAscending();
    const all = overheadRows(records, timings.rounds);
    return {
      where,
      all,
      rows: all.filter((r) => r.round > warmup),
      failed: records.filter((r) => r.status === 'failed').length,
      totalMs,
      errors: timings.errors,
    };
  });
}

export const roundOverhead: Benchmark = {
  name: 'round-overhead',
  title: 'Federated round overhead, 10 banks on loopback',
  description:
    "round wall time minus the slowest bank's training, 10 light protocol clients, real aggregator (target ≤ 50 ms)",
  async run(ctx: BenchContext): Promise<BenchResult> {
    const banks = 10;
    const warmup = 3;
    const measured = ctx.quick ? 10 : 40;
    const runs: Measured[] = [await measure(ctx, tmpdir(), `SQLite on disk (${tmpdir()})`, banks, warmup, measured)];
    // The same on tmpfs, where fsync is free: separates durable writes from protocol and scheduling.
    if (existsSync('/dev/shm'))
      runs.push(await measure(ctx, '/dev/shm', 'SQLite on tmpfs (/dev/shm)', banks, warmup, measured));
    const stat = (name: string, xs: number[]) => ({
      '': name,
      median: num(median(xs), 1),
      p95: num(percentile(xs, 95), 1),
      max: num(Math.max(...xs), 1),
      min: num(Math.min(...xs), 1),
    });
    const tableOf = (m: Measured) => {
      const col = (f: (r: RoundOverheadRow) => number) => m.rows.map(f);
      return {
        title: `${m.where}: ${m.rows.length} rounds after ${warmup} warm-up rounds, ms`,
        rows: [
          stat(
            'wall time (start → last bank has the commit)',
            col((r) => r.wallMs),
          ),
          stat(
            'slowest bank training (simulated 50–150 ms)',
            col((r) => r.slowestTrainMs),
          ),
          stat(
            'overhead = wall − slowest training',
            col((r) => r.overheadMs),
          ),
          stat(
            '  dispatch (start → first assignment received)',
            col((r) => r.dispatchMs),
          ),
          stat(
            '  fit stage − slowest training',
            col((r) => r.fitStageMs - r.slowestTrainMs),
          ),
          stat(
            '  aggregation phase (FedAvg)',
            col((r) => r.aggregationMs),
          ),
          stat(
            '  evaluation phase (request → all evaluations)',
            col((r) => r.evaluationMs),
          ),
          stat(
            '  commit (SQLite commit + broadcast received)',
            col((r) => r.commitMs),
          ),
        ],
      };
    };
    const overhead = (m: Measured) => m.rows.map((r) => r.overheadMs);
    const disk = runs[0]!;
    const updateFrame = encodeFrame(
      {
        type: 'update',
        roundId: 1,
        modelVersion: 0,
        kind: 'delta',
        numExamples: 1000,
        numTrained: 1100,
        loss: 0.1,
        timings: { trainMs: 1, prepareMs: 0 },
      },
      [{ name: 'update', shape: [MLP_PARAMETERS], data: new Float32Array(MLP_PARAMETERS) }],
    ).byteLength;
    const errors = runs.flatMap((m) => m.errors);
    return {
      tables: [
        ...runs.map(tableOf),
        {
          title: 'Setup',
          rows: [
            { '': 'banks', value: banks },
            { '': 'model parameters', value: num(MLP_PARAMETERS) },
            { '': 'update frame (float32)', value: bytes(updateFrame) },
            ...runs.map((m) => ({
              '': `${m.where}: rounds committed / failed, wall`,
              value: `${m.all.length} / ${m.failed}, ${num(m.totalMs / 1000, 1)} s`,
            })),
            { '': 'client errors', value: errors.length },
          ],
        },
      ],
      targets: [
        target('round overhead (median), 10 banks, default SQLite store', median(overhead(disk)), '<=', 50, 'ms'),
        ...runs
          .slice(1)
          .map((m) => target(`round overhead (median), 10 banks, ${m.where}`, median(overhead(m)), '<=', 50, 'ms')),
      ],
      notes: [
        'Banks run in a separate process; "training" is a timed wait, so the overhead is the protocol, FedAvg, the evaluation round-trip, SQLite persistence and scheduling in the aggregator.',
        "The store runs SQLite in WAL mode with synchronous = FULL: every audit entry and round-state save is its own fsync'd transaction. The tmpfs run shows the cost without fsync.",
        ...errors.slice(0, 5).map((e) => `client error: ${e}`),
      ],
      data: {
        banks,
        warmup,
        runs: runs.map((m) => ({ where: m.where, failed: m.failed, totalMs: m.totalMs, rounds: m.all })),
        clientErrors: errors,
        updateFrameBytes: updateFrame,
      },
    };
  },
};

/** `run()` for callers without the runner: runs the benchmark, prints it and writes bench/out/round-overhead.json. */
export async function run(quick = false): Promise<BenchResult> {
  const machine = machineInfo();
  const t0 = performance.now();
  const result = await roundOverhead.run({ quick, log: (m) => process.stderr.write(`[round-overhead] ${m}\n`) });
  printResult(roundOverhead, result);
  console.log(`\nwrote ${writeResult(roundOverhead, result, machine, performance.now() - t0)}`);
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE) {
  run(process.argv.includes('--quick')).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
