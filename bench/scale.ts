/**
 * `scale`: 1,000 concurrent bank connections to one aggregator completing a round. The
 * aggregator runs in this process (startAggregator, loopback, SQLite); 1,000 light
 * clients speaking the real protocol (hello with a token issued by the admin API,
 * heartbeats, a precomputed 4,097-parameter delta after a simulated 100–500 ms of
 * "training", an immediate evaluation with a 1000-bin histogram) run in one child
 * process, so that the memory measured here is the aggregator's alone.
 *
 * Reported: time to register and to connect the banks, the aggregator's memory before
 * and after the connections (per connection) and at its peak during the round, and the
 * round's wall time, slowest simulated training and phases. Run on the default SQLite
 * store on disk and, for comparison, on tmpfs (no fsync cost).
 *
 * The light client is bench/light-bank.ts, the aggregator side bench/bench-federation.ts
 * (both shared with bench/round-overhead.ts).
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bytes,
  gc,
  machineInfo,
  num,
  printResult,
  target,
  writeResult,
  type Benchmark,
  type BenchContext,
  type BenchResult,
  type Row,
} from './lib.js';
import { registerBanks, trainToEnd, withLightFederation } from './bench-federation.js';
import { MLP_PARAMETERS } from './light-bank.js';
import { overheadRows, type RoundOverheadRow } from './round-overhead.js';

const THIS_FILE = fileURLToPath(import.meta.url);

interface ScaleRun {
  where: string;
  banks: number;
  registerMs: number;
  connectMs: number;
  connected: number;
  failedConnections: number;
  memory: { before: NodeJS.MemoryUsage; connected: NodeJS.MemoryUsage; peakRss: number; after: NodeJS.MemoryUsage };
  clientProcess: { rss: number; heapUsed: number };
  roundWallMs: number;
  round: RoundOverheadRow | null;
  participants: number;
  status: string;
  errors: string[];
}

async function measure(ctx: BenchContext, parent: string, where: string, banks: number): Promise<ScaleRun> {
  return withLightFederation(parent, { banks, rounds: 1 }, async (agg, light) => {
    ctx.log(`${where}: registering ${banks} banks through the admin API`);
    let t0 = performance.now();
    const creds = await registerBanks(agg, banks);
    const registerMs = performance.now() - t0;
    gc();
    const before = process.memoryUsage();
    ctx.log(`${where}: connecting ${banks} banks`);
    const ready = await light.start({
      wsUrl: `${agg.wsUrl}/ws/bank`,
      banks: creds,
      trainMs: [100, 500],
      parameters: MLP_PARAMETERS,
      numFeatures: 30,
      concurrency: 100,
    });
    // The last welcomes may still be in the federation's queue: wait until every session is attached.
    const end = Date.now() + 60_000;
    while (agg.federation.status().connectedBanks < ready.connected && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    gc();
    const connected = process.memoryUsage();
    ctx.log(`${where}: ${ready.connected} connected in ${(ready.connectMs / 1000).toFixed(1)} s; running one round`);
    let peakRss = connected.rss;
    t0 = performance.now();
    await trainToEnd(agg, 600_000, () => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    });
    const roundWallMs = performance.now() - t0;
    const after = process.memoryUsage();
    const timings = await light.report();
    const records = await agg.store.listRoundsAscending();
    const committed = records.find((r) => r.status === 'committed');
    const rows = overheadRows(records, timings.rounds);
    return {
      where,
      banks,
      registerMs,
      connectMs: ready.connectMs,
      connected: ready.connected,
      failedConnections: ready.failed,
      memory: { before, connected, peakRss, after },
      clientProcess: { rss: timings.memory.rss, heapUsed: timings.memory.heapUsed },
      roundWallMs,
      round: rows[0] ?? null,
      participants: committed?.participants.length ?? 0,
      status: records.map((r) => r.status).join(', '),
      errors: timings.errors,
    };
  });
}

export const scale: Benchmark = {
  name: 'scale',
  title: '1,000 concurrent bank connections completing a round',
  description:
    '1,000 light protocol clients on loopback join one aggregator and complete a FedAvg round; memory and round time',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const banks = ctx.quick ? 200 : 1000;
    const runs: ScaleRun[] = [await measure(ctx, tmpdir(), 'SQLite on disk', banks)];
    if (existsSync('/dev/shm')) runs.push(await measure(ctx, '/dev/shm', 'SQLite on tmpfs', banks));
    const perConn = (r: ScaleRun, k: 'rss' | 'heapUsed' | 'external') =>
      (r.memory.connected[k] - r.memory.before[k]) / Math.max(1, r.connected);
    const row = (name: string, f: (r: ScaleRun) => string | number): Row =>
      Object.fromEntries([['', name], ...runs.map((r) => [r.where, f(r)])]);
    const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${num(x)} ms`);
    return {
      tables: [
        {
          title: `${banks} banks, one round`,
          rows: [
            row('banks connected / failed', (r) => `${r.connected} / ${r.failedConnections}`),
            row('participants in the committed round', (r) => r.participants),
            row('round status', (r) => r.status),
            row('register banks (admin API, sequential)', (r) => ms(r.registerMs)),
            row('connect all (hello → welcome, 100 at a time)', (r) => ms(r.connectMs)),
            row('round wall time (start → last bank has the commit)', (r) => ms(r.round?.wallMs)),
            row('  slowest bank training (simulated 100–500 ms)', (r) => ms(r.round?.slowestTrainMs)),
            row('  overhead = wall − slowest training', (r) => ms(r.round?.overheadMs)),
            row('  fit stage − slowest training', (r) =>
              ms(r.round ? r.round.fitStageMs - r.round.slowestTrainMs : undefined),
            ),
            row('  aggregation phase', (r) => ms(r.round?.aggregationMs)),
            row('  evaluation phase', (r) => ms(r.round?.evaluationMs)),
            row('  commit (SQLite + broadcast received)', (r) => ms(r.round?.commitMs)),
            row('aggregator RSS before connections', (r) => bytes(r.memory.before.rss)),
            row('aggregator RSS with all connected', (r) => bytes(r.memory.connected.rss)),
            row('aggregator RSS peak during the round', (r) => bytes(r.memory.peakRss)),
            row('aggregator heap used with all connected', (r) => bytes(r.memory.connected.heapUsed)),
            row('per connection: RSS', (r) => bytes(Math.round(perConn(r, 'rss')))),
            row('per connection: heap', (r) => bytes(Math.round(perConn(r, 'heapUsed')))),
            row('client process RSS (all light banks)', (r) => bytes(r.clientProcess.rss)),
          ],
        },
      ],
      targets: runs.map((r) => target(`banks completing the round, ${r.where}`, r.participants, '>=', banks, 'banks')),
      notes: [
        "Memory per connection = growth of the aggregator process from before the banks connected to after all did (GC forced before each sample), divided by the banks; it includes the socket, the session and the federation's per-bank state.",
        "Each update, evaluation and state change of the round is persisted (SQLite, WAL, synchronous = FULL): with 1,000 banks that is thousands of fsync'd transactions per round, which the tmpfs column leaves out.",
        ...runs.flatMap((r) => r.errors.slice(0, 3).map((e) => `${r.where}: client error: ${e}`)),
      ],
      data: { banks, parameters: MLP_PARAMETERS, runs },
    };
  },
};

/** `run()` for callers without the runner: runs the benchmark, prints it and writes bench/out/scale.json. */
export async function run(quick = false): Promise<BenchResult> {
  const machine = machineInfo();
  const t0 = performance.now();
  const result = await scale.run({ quick, log: (m) => process.stderr.write(`[scale] ${m}\n`) });
  printResult(scale, result);
  console.log(`\nwrote ${writeResult(scale, result, machine, performance.now() - t0)}`);
  return result;
}

if (process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE) {
  run(process.argv.includes('--quick')).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
