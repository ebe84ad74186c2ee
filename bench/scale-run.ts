/**
 * One run of `scale` (bench/scale.ts): a fresh aggregator in this process, `banks` light banks
 * in a child process, one start and `1 + skip + measuredRounds` rounds back to back; returns the
 * aggregator's CPU per measured round, its idle CPU, memory and the round's phases. The sweep,
 * the interleaving and the report are scale.ts's.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { gc, procStatus, resetPeak, threadCpuNs, type BenchContext } from './lib.js';
import { registerBanks, trainToEnd, withLightFederation } from './bench-federation.js';
import type { RoundRecord } from '@finsecure/common/api';
import { MLP_PARAMETERS } from './light-bank.js';
import { overheadRows, type RoundOverheadRow } from './round-overhead.js';

/** The light banks' simulated training time, uniform in [min, max] ms. */
export const TRAIN_MS = trainRange(process.env.FINSECURE_BENCH_SCALE_TRAIN_MS ?? '100,500');
/** How long the idle CPU is measured, with every bank connected and before training starts, ms. */
const IDLE_MS = Number(process.env.FINSECURE_BENCH_SCALE_IDLE_MS ?? 3_000);
if (!(IDLE_MS >= 100))
  throw new Error(`FINSECURE_BENCH_SCALE_IDLE_MS is "${process.env.FINSECURE_BENCH_SCALE_IDLE_MS}": expected ms ≥ 100`);

/**
 * Rounds run after the first and before the measured ones (FINSECURE_BENCH_SCALE_SKIP): V8 optimises
 * a round's handlers only once each has run a few thousand times, which takes a 10-bank federation
 * a hundred rounds or more (each handler runs a few times per bank and round) and a 10,000-bank
 * one a single round (bench/RESULTS.md, "eighteenth pass"). `auto` (the default) skips
 * ceil(WARM_BANK_ROUNDS / banks) rounds: the steady state of a long-running federation of any size.
 * A number skips that many at every size (0: the first rounds, as a federation that has just
 * started pays them).
 */
export const WARM_BANK_ROUNDS = 2_000;
const SKIP_SETTING = process.env.FINSECURE_BENCH_SCALE_SKIP ?? 'auto';
if (
  SKIP_SETTING !== 'auto' &&
  !(Number.isInteger(Number(SKIP_SETTING)) && Number(SKIP_SETTING) >= 0 && SKIP_SETTING.trim() !== '')
)
  throw new Error(`FINSECURE_BENCH_SCALE_SKIP is "${SKIP_SETTING}": expected "auto" or an integer ≥ 0`);

/** The rounds skipped before the measured ones at this many banks (see WARM_BANK_ROUNDS); 0 in a quick run. */
export function skipRounds(banks: number, quick = false): number {
  if (quick) return 0;
  return SKIP_SETTING === 'auto' ? Math.ceil(WARM_BANK_ROUNDS / banks) : Number(SKIP_SETTING);
}

function trainRange(text: string): [number, number] {
  const [lo, hi] = text.split(',').map(Number);
  if (!(lo! >= 0 && hi! >= lo!))
    throw new Error(`FINSECURE_BENCH_SCALE_TRAIN_MS is "${text}": expected "min,max" in ms`);
  return [lo!, hi!];
}

export interface ScaleRun {
  where: string;
  banks: number;
  registerMs: number;
  connectMs: number;
  connected: number;
  failedConnections: number;
  memory: { before: NodeJS.MemoryUsage; connected: NodeJS.MemoryUsage; peakRss: number; after: NodeJS.MemoryUsage };
  clientProcess: { rss: number; heapUsed: number };
  roundWallMs: number;
  /** Aggregator process CPU (user + system) from the previous round's end to this one's, ms: the median measured round. */
  roundCpuMs: number;
  /** Rounds run after the first and before the measured ones (skipRounds). */
  skippedRounds: number;
  /** Every measured round's CPU, ms (rounds 2 + skippedRounds to 1 + skippedRounds + measuredRounds of the run, back to back). */
  roundsCpuMs: number[];
  /** Of which system (kernel: socket writes and reads, SQLite file writes), ms (median round). */
  roundCpuSystemMs: number;
  /** CPU of the first (unmeasured) round, from the admin's POST /api/training/start to its end, ms. */
  firstRoundCpuMs: number;
  /**
   * Of the measured rounds' CPU, ms per round (mean): the main thread (JavaScript, socket reads and
   * writes, SQLite) and the other threads (V8's compilers and concurrent GC, libuv's pool); null
   * without /proc.
   */
  threads: { mainMsPerRound: number; otherMsPerRound: number; others: number } | null;
  /** Aggregator CPU with every bank connected and no round running (heartbeats, timers), ms per second. */
  idleCpuMsPerS: number;
  round: RoundOverheadRow | null;
  participants: number;
  status: string;
  errors: string[];
}

export async function measure(
  ctx: BenchContext,
  parent: string,
  where: string,
  banks: number,
  measuredRounds: number,
): Promise<ScaleRun> {
  // The aggregator's CPU and clock at each round's end, taken synchronously on the federation's
  // queue as the round finishes: exact round boundaries, and no polling of the federation.
  const skip = skipRounds(banks, ctx.quick);
  const rounds = 1 + skip + measuredRounds;
  const ends: { cpu: NodeJS.CpuUsage; at: number }[] = [];
  let allEnded!: () => void;
  let roundFailed!: (err: Error) => void;
  const ended = new Promise<void>((resolve, reject) => ((allEnded = resolve), (roundFailed = reject)));
  let afterFirst: (() => void) | null = null;
  // Per-thread CPU at the measured rounds' start and end (taken synchronously with `ends`).
  const threadMarks: Map<number, number>[] = [];
  const observer = {
    roundFinished: (round: RoundRecord) => {
      // A failed round does not count towards rules.rounds (the federation would run another):
      // the run stops at once with the reason rather than measure a round that is not the steady state.
      if (round.status !== 'committed') {
        roundFailed(new Error(`${where}: round ${round.id} ${round.status}: ${round.failureReason ?? 'no reason'}`));
        return;
      }
      ends.push({ cpu: process.cpuUsage(), at: performance.now() });
      if (ends.length === 1 + skip) {
        threadMarks.push(threadCpuNs());
        afterFirst?.();
      }
      if (ends.length === rounds) {
        threadMarks.push(threadCpuNs());
        allEnded();
      }
    },
  };
  return withLightFederation(parent, { banks, rounds, observer }, async (agg, light) => {
    ctx.log(`${where}: registering ${banks} banks through the admin API`);
    const t0 = performance.now();
    const creds = await registerBanks(agg, banks);
    const registerMs = performance.now() - t0;
    gc();
    const before = process.memoryUsage();
    ctx.log(`${where}: connecting ${banks} banks`);
    const ready = await light.start({
      wsUrl: `${agg.wsUrl}/ws/bank`,
      banks: creds,
      trainMs: TRAIN_MS,
      parameters: MLP_PARAMETERS,
      numFeatures: 30,
      concurrency: 100,
    });
    // The last welcomes may still be in the federation's queue: wait until every session is attached.
    const end = Date.now() + 60_000;
    while (agg.federation.status().connectedBanks < ready.connected && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    gc();
    // Idle: what the aggregator burns between rounds, with only heartbeats and its own timers.
    // Every wake-up costs tens of µs on this VM, and a round pays the idle rate over its wall time.
    // Settle first: the connections' audit entries wait up to 100 ms for their batch.
    await new Promise((r) => setTimeout(r, 500));
    const idle0 = process.cpuUsage();
    const idleT0 = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleUsage = process.cpuUsage(idle0);
    const idleCpuMsPerS = (idleUsage.user + idleUsage.system) / (performance.now() - idleT0);
    const connected = process.memoryUsage();
    ctx.log(
      `${where}: ${ready.connected} connected in ${(ready.connectMs / 1000).toFixed(1)} s; running ${rounds} rounds`,
    );
    let peakRss = connected.rss;
    // The peak from the kernel's mark (reset here): no sampling timer waking the measured process.
    // Elsewhere, rss() every 100 ms (the full memoryUsage() walks the heap spaces: ~2 % of the CPU
    // measured at every 25 ms).
    const kernelPeak = resetPeak(process.pid);
    const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage.rss()));
    // One start, then the rounds back to back, as a federation runs (rules.rounds per start).
    // Round 1, from the admin's request, is not measured: it pays the start and one-off costs a
    // running federation pays once (first touches of the per-round memory, code compiled at its
    // first use). Each later round is measured from the previous round's end to its own: its
    // selection and assignments, every frame, heartbeats, aggregation, evaluation, durable commit.
    // The admin's request goes out from the light banks' process: its HTTP client is not the aggregator.
    let profiler: Promise<((name: string) => Promise<string>) | null> = Promise.resolve(null);
    afterFirst = () => (profiler = startRoundProfile());
    const cpu0 = process.cpuUsage();
    // 10 minutes at least, a minute a round beyond that (a 10,000-bank round takes 8–16 s).
    await trainToEnd(agg, Math.max(600_000, rounds * 60_000), {
      ...(kernelPeak ? {} : { onTick: sampleRss, pollMs: 100 }),
      post: light.post.bind(light),
      until: ended,
    });
    if (kernelPeak) peakRss = Math.max(peakRss, procStatus(process.pid, 'VmHWM'));
    const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => ({
      user: (b.user - a.user) / 1000,
      system: (b.system - a.system) / 1000,
    });
    const firstCpu = cpuMs(cpu0, ends[0]!.cpu);
    const measured = ends
      .slice(1 + skip)
      .map((e, k) => ({ cpu: cpuMs(ends[k + skip]!.cpu, e.cpu), wallMs: e.at - ends[k + skip]!.at }));
    const profileFile = await (await profiler)?.(`scale-${banks}-${Date.now()}.cpuprofile`);
    if (profileFile) {
      const kind = profileFile.endsWith('.heapprofile') ? 'heap' : 'CPU';
      ctx.log(`${where}: ${kind} profile of rounds ${2 + skip} to ${rounds} in ${profileFile}`);
    }
    const threads = threadSplit(threadMarks, measuredRounds);
    const byCpu = [...measured].sort((a, b) => a.cpu.user + a.cpu.system - (b.cpu.user + b.cpu.system));
    const mid = byCpu[Math.floor((byCpu.length - 1) / 2)]!;
    const cpu = mid.cpu;
    const roundWallMs = mid.wallMs;
    const after = process.memoryUsage();
    const timings = await light.report();
    const records = await agg.store.listRoundsAscending();
    const committed = records.filter((r) => r.status === 'committed').at(-1);
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
      skippedRounds: skip,
      roundCpuMs: cpu.user + cpu.system,
      roundsCpuMs: measured.map((m) => m.cpu.user + m.cpu.system),
      roundCpuSystemMs: cpu.system,
      firstRoundCpuMs: firstCpu.user + firstCpu.system,
      threads,
      idleCpuMsPerS,
      round: rows.at(-1) ?? null,
      participants: committed?.participants.length ?? 0,
      // "41 committed" rather than the word 41 times; a run stops at its first failed round.
      status: [...new Set(records.map((r) => r.status))]
        .map((status) => `${records.filter((r) => r.status === status).length} ${status}`)
        .join(', '),
      errors: timings.errors,
    };
  });
}

/** The main thread's and the other threads' CPU between two marks, ms per round. */
function threadSplit(marks: Map<number, number>[], measuredRounds: number): ScaleRun['threads'] {
  const [a, b] = marks;
  if (!a || !b || b.size === 0) return null;
  let main = 0;
  let other = 0;
  for (const [tid, ns] of b) {
    const spent = ns - (a.get(tid) ?? 0);
    if (tid === process.pid) main += spent;
    else other += spent;
  }
  return {
    mainMsPerRound: main / 1e6 / measuredRounds,
    otherMsPerRound: other / 1e6 / measuredRounds,
    others: b.size - 1,
  };
}

/**
 * FINSECURE_BENCH_SCALE_PROFILE=<dir>: a V8 CPU profile of this process (the aggregator) over
 * the measured rounds only, written to <dir>/scale-<banks>-<ms>.cpuprofile (open it in Chrome DevTools or
 * summarise it with `npx tsx bench/profile-top.ts <file>`). Returns a function that stops the
 * profiler and writes the file; null when the variable is unset.
 */
async function startRoundProfile(): Promise<((name: string) => Promise<string>) | null> {
  const heapDir = process.env.FINSECURE_BENCH_SCALE_HEAP_PROFILE;
  if (heapDir) return startHeapProfile(heapDir);
  const dir = process.env.FINSECURE_BENCH_SCALE_PROFILE;
  if (!dir) return null;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async (name) => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify(profile));
    return file;
  };
}

/**
 * FINSECURE_BENCH_SCALE_HEAP_PROFILE=<dir>: a sampling heap profile of the measured rounds that
 * counts every allocation, collected or not (V8's `includeObjectsCollectedBy*GC`), one sample per
 * 8 KB allocated on average: where the garbage the collector's share of a round comes from.
 * Summarise it with `npx tsx bench/profile-top.ts <file.heapprofile>`.
 */
async function startHeapProfile(dir: string): Promise<(name: string) => Promise<string>> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 8192,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  return async (name) => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name.replace(/\.cpuprofile$/, '.heapprofile'));
    writeFileSync(file, JSON.stringify(profile));
    return file;
  };
}
