/**
 * One `scale` run in a process of its own: the aggregator of each run starts in a fresh Node
 * process, as a real one does, so no run inherits another's heap, compiled code or type feedback
 * (in one process the 10-bank runs after 1,000-bank ones cost up to 40 % more: bench/RESULTS.md,
 * "eighteenth pass"). The parent spawns this file with the run's arguments; the child runs
 * `measure` (scale-run.ts), sends its ScaleRun over IPC and exits. Environment settings
 * (FINSECURE_BENCH_SCALE_*) pass to the child with the environment.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext } from './lib.js';
import { measure, type ScaleRun } from './scale-run.js';

interface RunArgs {
  parent: string;
  where: string;
  banks: number;
  measuredRounds: number;
  quick: boolean;
}

const FLAG = '--scale-run';
const self = fileURLToPath(import.meta.url);

/** measure() in a child process, same arguments; rejects with the child's exit status when it sends no result. */
export function measureInChild(
  ...[ctx, parent, where, banks, measuredRounds]: Parameters<typeof measure>
): Promise<ScaleRun> {
  const args: RunArgs = { parent, where, banks, measuredRounds, quick: ctx.quick };
  // process.execArgv carries tsx's loader and --expose-gc (measure forces collections).
  const execArgv = process.execArgv.includes('--expose-gc') ? process.execArgv : [...process.execArgv, '--expose-gc'];
  const child = spawn(process.execPath, [...execArgv, self, FLAG, JSON.stringify(args)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let result: ScaleRun | null = null;
    child.on('message', (m: ScaleRun) => (result = m));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      result
        ? resolve(result)
        : reject(new Error(`${where}: its process ended (${signal ?? `exit ${code}`}) without a result`)),
    );
  });
}

if (process.argv[2] === FLAG && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const a = JSON.parse(process.argv[3] ?? '{}') as RunArgs;
  const ctx: BenchContext = { quick: a.quick, log: (m) => process.stderr.write(`[scale] ${m}\n`) };
  const run = await measure(ctx, a.parent, a.where, a.banks, a.measuredRounds);
  process.send!(run, () => process.exit(0));
}
