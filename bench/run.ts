/**
 * Benchmark runner: `npm run bench` runs every registered benchmark, `npm run bench --
 * training wire` runs some, `--list` lists them, `--quick` cuts repetitions (smoke run).
 *
 * Each benchmark runs in its own child process (same node flags plus --expose-gc), so
 * that one benchmark's heap, JIT state or TF.js backend cannot skew the next one's
 * figures. `--in-process` skips that (handy under a debugger or profiler).
 *
 * Benchmarks are not tests: a missed target prints FAIL but the exit code stays 0. Only
 * a benchmark that crashes makes the runner exit non-zero.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { aggregation } from './aggregation.js';
import { anomaly } from './anomaly.js';
import { consoleBench } from './console.js';
import { explain } from './explain.js';
import { flood } from './flood.js';
import {
  formatTarget,
  machineInfo,
  printResult,
  writeResult,
  OUT_DIR,
  type Benchmark,
  type BenchContext,
  type Target,
} from './lib.js';
import { kmeans } from './kmeans.js';
import { memory } from './memory.js';
import { preauthMemory } from './preauth-memory.js';
import { roundOverhead } from './round-overhead.js';
import { robustAggregation } from './robust-aggregation.js';
import { scale } from './scale.js';
import { secagg } from './secagg.js';
import { secaggRounds } from './secagg-rounds.js';
import { training } from './training.js';
import { wire } from './wire.js';

/**
 * The registry, in run order. To add a benchmark, write bench/<name>.ts exporting a
 * `Benchmark` (see lib.ts) and list it here.
 */
export const registry: Benchmark[] = [
  training,
  aggregation,
  robustAggregation,
  wire,
  roundOverhead,
  scale,
  memory,
  anomaly,
  kmeans,
  secagg,
  secaggRounds,
  explain,
  consoleBench,
  preauthMemory,
  flood,
];

interface Args {
  names: string[];
  list: boolean;
  quick: boolean;
  inProcess: boolean;
  child: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { names: [], list: false, quick: false, inProcess: false, child: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--list') args.list = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--in-process') args.inProcess = true;
    else if (a === '--child') args.child = argv[++i] ?? null;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [name ...] [--quick] [--list] [--in-process]');
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else args.names.push(a);
  }
  return args;
}

function find(name: string): Benchmark {
  const b = registry.find((x) => x.name === name);
  if (!b) throw new Error(`unknown benchmark "${name}"; known: ${registry.map((x) => x.name).join(', ')}`);
  return b;
}

/** Runs one benchmark in this process: tables to stdout, JSON to bench/out. */
async function runHere(b: Benchmark, quick: boolean): Promise<void> {
  const ctx: BenchContext = { quick, log: (m) => process.stderr.write(`[${b.name}] ${m}\n`) };
  const machine = machineInfo();
  const t0 = performance.now();
  const result = await b.run(ctx);
  printResult(b, result);
  const file = writeResult(b, result, machine, performance.now() - t0);
  console.log(`\nwrote ${file}`);
}

function runChild(b: Benchmark, quick: boolean): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  // process.execArgv carries tsx's loader flags, so the child runs the same TypeScript.
  const argv = [...process.execArgv, '--expose-gc', script, '--child', b.name, ...(quick ? ['--quick'] : [])];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on('error', () => resolve(1));
  });
}

function summary(benchmarks: Benchmark[], started: number, crashed: string[]): void {
  const lines: string[] = [];
  let pass = 0;
  let fail = 0;
  for (const b of benchmarks) {
    const file = `${OUT_DIR}/${b.name}.json`;
    if (crashed.includes(b.name) || !existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, 'utf8')) as { targets: Target[]; machine: { date: string } };
    if (Date.parse(json.machine.date) < started) continue; // left over from an earlier run
    for (const t of json.targets) {
      lines.push(`  [${b.name}] ${formatTarget(t)}`);
      if (t.pass) pass++;
      else fail++;
    }
  }
  console.log(
    `\n=== Summary: ${pass} targets passed, ${fail} failed${crashed.length ? `, crashed: ${crashed.join(', ')}` : ''} ===`,
  );
  for (const l of lines) console.log(l);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const b of registry) console.log(`${b.name.padEnd(12)} ${b.description}`);
    return;
  }
  if (args.child) {
    await runHere(find(args.child), args.quick);
    return;
  }
  const selected = args.names.length ? args.names.map(find) : registry;
  const started = Date.now();
  const m = machineInfo();
  console.log(`FinSecure benchmarks — ${m.date}`);
  console.log(`node ${m.node}, ${m.cores} cores, ${m.cpuModel}, load average ${m.loadAverage1m}`);
  const crashed: string[] = [];
  for (const b of selected) {
    if (args.inProcess) {
      try {
        await runHere(b, args.quick);
      } catch (err) {
        console.error(`benchmark ${b.name} crashed:`, err);
        crashed.push(b.name);
      }
    } else if ((await runChild(b, args.quick)) !== 0) {
      console.error(`benchmark ${b.name} crashed (see above)`);
      crashed.push(b.name);
    }
  }
  summary(selected, started, crashed);
  if (crashed.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
});
