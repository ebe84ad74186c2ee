/**
 * `scale`: aggregator CPU per bank per round, flat from 10 to 1,000 banks (issue 14 item 1), and
 * the memory of many concurrent bank connections. The aggregator runs in this process
 * (startAggregator, loopback, SQLite on tmpfs when there is one); the light clients speaking the
 * real protocol (hello with a token issued by the admin API, heartbeats, a precomputed
 * 4,097-parameter delta after a simulated 100–500 ms of "training" (FINSECURE_BENCH_SCALE_TRAIN_MS=10,50
 * for others: a round then pays less of the aggregator's idle CPU), an immediate evaluation with
 * a 1000-bin histogram) run in one child process, so that the CPU and memory measured here are
 * the aggregator's alone.
 *
 * Sweep: 10, 100 and 1,000 banks (FINSECURE_BENCH_SCALE_BANKS=10,100,1000,10000 for others; the
 * file-descriptor limit, `ulimit -n`, must exceed the largest), the whole sweep repeated 3 times
 * (FINSECURE_BENCH_SCALE_REPEATS), interleaved, each run's aggregator in a fresh process (scale-child.ts).
 * Each run starts training once and runs its rounds back to back, as a federation does. Reported: aggregator CPU (user + system) per bank of each measured
 * round, 3 rounds of each run (FINSECURE_BENCH_SCALE_ROUNDS) once V8 has optimised the round's handlers: after
 * ceil(2,000 / banks) rounds (FINSECURE_BENCH_SCALE_SKIP=auto, the default: the steady state of a long-running
 * federation; =k skips k rounds at every size, 0 measures rounds 2 on, a federation's first), each from the
 * previous round's end to its own (marked synchronously as the round finishes, through
 * StartOptions.observer; the first round, from the admin's request, pays the start and one-off
 * costs a running federation pays once and is shown beside them), min / median /
 * max over every measured round of every run, and the marginal CPU per bank (slope between the smallest and
 * the largest size, fixed per-round costs removed); for the last run of each size the time to
 * register and to connect the banks, the aggregator's idle CPU with all of them connected and no
 * round running (over FINSECURE_BENCH_SCALE_IDLE_MS, 3 s), the system share of the CPU, its split between the main
 * thread and the others (V8's compilers and concurrent GC, libuv's pool; Linux), memory per connection and at the
 * round's peak, the round's wall time and phases. FINSECURE_BENCH_SCALE_PROFILE=<dir> writes a CPU
 * profile of the measured rounds of each run (see startRoundProfile); FINSECURE_BENCH_SCALE_HEAP_PROFILE=<dir>
 * a sampling heap profile instead (startHeapProfile).
 *
 * One run (a size, its rounds and what is measured of them) is bench/scale-run.ts. The light
 * client is bench/light-bank.ts, the aggregator side bench/bench-federation.ts (both shared with
 * bench/round-overhead.ts).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bytes,
  machineInfo,
  median,
  num,
  printResult,
  target,
  writeResult,
  type Benchmark,
  type BenchContext,
  type BenchResult,
  type Row,
} from './lib.js';
import { MLP_PARAMETERS } from './light-bank.js';
import { measureInChild } from './scale-child.js';
import { TRAIN_MS, WARM_BANK_ROUNDS, type ScaleRun } from './scale-run.js';

const THIS_FILE = fileURLToPath(import.meta.url);
/** Banks per run of the sweep (FINSECURE_BENCH_SCALE_BANKS=10,100,1000,10000 overrides). */
const SWEEP = [10, 100, 1000];
/** Aggregator CPU per bank per round, MLP: the issue 14 target, at every size of the sweep. */
const CPU_PER_BANK_MS = 1;

export const scale: Benchmark = {
  name: 'scale',
  title: 'Aggregator CPU per bank per round, 10 to 1,000 banks (more with FINSECURE_BENCH_SCALE_BANKS)',
  description:
    'light protocol clients on loopback (one child process) complete FedAvg rounds at 10, 100 and 1,000 banks; aggregator CPU per bank, memory, round time',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const env = process.env.FINSECURE_BENCH_SCALE_BANKS;
    const sizes = env ? env.split(',').map((x) => Number(x)) : ctx.quick ? [10, 100] : SWEEP;
    const repeats = ctx.quick ? 1 : Number(process.env.FINSECURE_BENCH_SCALE_REPEATS ?? 3);
    const measuredRounds = ctx.quick ? 1 : Number(process.env.FINSECURE_BENCH_SCALE_ROUNDS ?? 3);
    if (!Number.isInteger(measuredRounds) || measuredRounds < 1)
      throw new Error(
        `FINSECURE_BENCH_SCALE_ROUNDS must be an integer >= 1 (rounds measured per run), got "${process.env.FINSECURE_BENCH_SCALE_ROUNDS}"`,
      );
    // tmpfs when there is one: the per-round SQLite fsyncs cost wall time, not the CPU measured here.
    const parent = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const store = parent === '/dev/shm' ? 'SQLite on tmpfs' : 'SQLite on disk';
    const load = os.loadavg()[0]!;
    const runs: ScaleRun[] = [];
    // Interleaved: the whole sweep, `repeats` times over; each run in a fresh process (scale-child.ts).
    for (let r = 0; r < repeats; r++)
      for (const n of sizes)
        runs.push(await measureInChild(ctx, parent, `${num(n)} banks, run ${r + 1}`, n, measuredRounds));
    const bySize = sizes.map((n) => runs.filter((r) => r.banks === n));
    // Every measured round of every run of a size: CPU ms per round, and per bank.
    const roundCpu = (rs: ScaleRun[]) => rs.flatMap((r) => r.roundsCpuMs);
    const perBank = (rs: ScaleRun[]) => rs.flatMap((r) => r.roundsCpuMs.map((c) => c / r.banks));
    const range = (xs: number[], digits = 2) =>
      `${num(Math.min(...xs), digits)} / ${num(median(xs), digits)} / ${num(Math.max(...xs), digits)}`;
    const lastOf = bySize.map((rs) => rs[rs.length - 1]!);
    const row = (name: string, f: (r: ScaleRun) => string | number): Row =>
      Object.fromEntries([['', name], ...lastOf.map((r) => [`${num(r.banks)} banks`, f(r)])]);
    const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${num(x)} ms`);
    const perConn = (r: ScaleRun, k: 'rss' | 'heapUsed' | 'external') =>
      (r.memory.connected[k] - r.memory.before[k]) / Math.max(1, r.connected);
    const medianPerBank = bySize.map((rs) => median(perBank(rs)));
    const medianCpu = bySize.map((rs) => median(roundCpu(rs)));
    const first = 0;
    const last = sizes.length - 1;
    // Fixed per-round costs (admin request, commit, broadcast encoding) cancel out of the slope.
    const marginalMs =
      last > first ? (medianCpu[last]! - medianCpu[first]!) / (sizes[last]! - sizes[first]!) : Number.NaN;
    return {
      tables: [
        {
          title: `Aggregator CPU per round: ${measuredRounds} rounds of each run, after the first and the skipped ones (${store}; min / median / max over ${repeats} interleaved runs × ${measuredRounds} rounds)`,
          rows: bySize.map((rs, i) => ({
            banks: num(sizes[i]!),
            'rounds measured': `${2 + rs[0]!.skippedRounds}–${1 + rs[0]!.skippedRounds + measuredRounds}`,
            'CPU ms per round': range(roundCpu(rs), 0),
            'CPU ms per bank per round': range(perBank(rs)),
            'first round, CPU ms per bank': range(rs.map((r) => r.firstRoundCpuMs / r.banks)),
            'round wall ms': range(
              rs.map((r) => r.round?.wallMs ?? NaN),
              0,
            ),
            'participants (min)': Math.min(...rs.map((r) => r.participants)),
          })),
        },
        {
          title: `Last run of each size, its median measured round (phases: its last round)`,
          rows: [
            row('banks connected / failed', (r) => `${r.connected} / ${r.failedConnections}`),
            row('participants in the committed round', (r) => r.participants),
            row('round status', (r) => r.status),
            row('register banks (admin API, sequential)', (r) => ms(r.registerMs)),
            row('connect all (hello → welcome, 100 at a time)', (r) => ms(r.connectMs)),
            row('round wall time (start → last bank has the commit)', (r) => ms(r.round?.wallMs)),
            row(`  slowest bank training (simulated ${TRAIN_MS[0]}–${TRAIN_MS[1]} ms)`, (r) =>
              ms(r.round?.slowestTrainMs),
            ),
            row('  overhead = wall − slowest training', (r) => ms(r.round?.overheadMs)),
            row('  aggregation phase', (r) => ms(r.round?.aggregationMs)),
            row('  evaluation phase', (r) => ms(r.round?.evaluationMs)),
            row('  commit (SQLite + broadcast received)', (r) => ms(r.round?.commitMs)),
            row('aggregator CPU idle, all connected, no round (ms per s)', (r) => num(r.idleCpuMsPerS, 2)),
            row('aggregator CPU during the round', (r) => ms(r.roundCpuMs)),
            row('  of which system (kernel)', (r) => ms(r.roundCpuSystemMs)),
            row('  main thread, mean of the measured rounds', (r) => ms(r.threads?.mainMsPerRound)),
            row('  other threads (V8 compilers and GC, libuv pool), mean', (r) =>
              r.threads ? `${ms(r.threads.otherMsPerRound)} (${r.threads.others} threads)` : 'n/a',
            ),
            row('aggregator RSS with all connected', (r) => bytes(r.memory.connected.rss)),
            row('aggregator RSS peak during the round', (r) => bytes(r.memory.peakRss)),
            row('per connection: RSS', (r) => bytes(Math.round(perConn(r, 'rss')))),
            row('per connection: heap', (r) => bytes(Math.round(perConn(r, 'heapUsed')))),
            row('client process RSS (all light banks)', (r) => bytes(r.clientProcess.rss)),
          ],
        },
      ],
      targets: [
        ...sizes.map((n, i) =>
          target(
            `aggregator CPU per bank per round, ${num(n)} banks (median)`,
            medianPerBank[i]!,
            '<=',
            CPU_PER_BANK_MS,
            'ms',
          ),
        ),
        // With one size there is no slope.
        ...(last > first
          ? [
              target(
                `marginal CPU per bank per round, ${num(sizes[first]!)} → ${num(sizes[last]!)} banks (fixed per-round costs removed)`,
                marginalMs,
                '<=',
                CPU_PER_BANK_MS,
                'ms',
              ),
            ]
          : []),
        target(
          `flat: CPU per bank at ${num(sizes[sizes.length - 1]!)} banks / at ${num(sizes[0]!)} (medians)`,
          medianPerBank[medianPerBank.length - 1]! / medianPerBank[0]!,
          '<=',
          1.5,
          '×',
        ),
        ...sizes.map((n, i) =>
          target(
            `banks completing the round, ${num(n)} banks (worst run)`,
            Math.min(...bySize[i]!.map((r) => r.participants)),
            '>=',
            n,
            'banks',
          ),
        ),
      ],
      notes: [
        `1-minute load average at start: ${load.toFixed(2)}. Each run starts training once (POST /api/training/start) and trains 1 + skipped + ${measuredRounds} rounds back to back, as a federation runs its rules.rounds. CPU = process.cpuUsage (user + system) of the aggregator process from the previous round's end to the round's own end (taken synchronously as each round finishes): the next selection and assignments, heartbeats, every frame, aggregation, evaluation and the durable, signed commit. The light clients, and the admin's HTTP client, run in their own process. The first round, from the admin's request to its end, is not measured: it pays the start (the request, the settings and audit entries it writes) and one-off costs (first touches of per-round memory, code compiled at first use) a running federation pays once; its figure is shown beside them. The rounds after it up to the measured ones are not measured either (FINSECURE_BENCH_SCALE_SKIP; by default ceil(${num(WARM_BANK_ROUNDS)} / banks)): V8 optimises a round's handlers only once each has run a few thousand times, over a 10-bank federation's first hundred rounds or so.`,
        `Marginal aggregator CPU per bank per round (median CPU per round at ${num(sizes[last]!)} banks minus at ${num(sizes[first]!)}, over the difference in banks): ${Number.isFinite(marginalMs) ? `${marginalMs.toFixed(3)} ms` : 'n/a (one size)'}.`,
        `Upload protocol: rounds whose banks' updates fit in rules.uploadPreGrantBytes (default 16 MiB: up to 455 MLP banks) are granted in advance, so at ${
          sizes
            .filter((n) => n <= 455)
            .map((n) => num(n))
            .join(', ') || 'no size here'
        } banks each bank sends its update without the offer and grant; larger sizes use the pull protocol (offer, grant, upload). The marginal and flatness figures compare the two.`,
        "Memory per connection = growth of the aggregator process from before the banks connected to after all did (GC forced before each sample), divided by the banks; it includes the socket, the session and the federation's per-bank state.",
        ...runs.flatMap((r) => r.errors.slice(0, 3).map((e) => `${r.where}: client error: ${e}`)),
      ],
      data: { sizes, repeats, store, loadAverage: load, parameters: MLP_PARAMETERS, marginalMs, runs },
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
