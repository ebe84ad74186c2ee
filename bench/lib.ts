/**
 * What every benchmark shares: the Benchmark interface the runner's registry holds,
 * targets (PASS/FAIL, never an exit code), aligned text tables, machine facts, timing
 * helpers and the JSON written to bench/out/<name>.json.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const OUT_DIR = path.join(BENCH_DIR, 'out');

export interface BenchContext {
  /** Fewer repetitions (smoke runs); figures are noisier. */
  quick: boolean;
  /** Progress lines (stderr, so that stdout stays the tables). */
  log(message: string): void;
}

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

export interface Table {
  title: string;
  rows: Row[];
}

export interface Target {
  /** What is checked, e.g. "wasm training, batch 1024". */
  name: string;
  value: number;
  op: '>=' | '<=';
  limit: number;
  unit: string;
  pass: boolean;
}

export interface BenchResult {
  tables: Table[];
  targets: Target[];
  /** Caveats worth printing under the tables (e.g. a backend that could not load). */
  notes: string[];
  /** Raw figures for the JSON file (tables hold the same figures, formatted). */
  data: Record<string, unknown>;
}

/**
 * One benchmark. To add one: write bench/<name>.ts exporting a Benchmark and add it to
 * the registry in bench/run.ts. Each runs in its own child process (clean heap, GC
 * exposed), prints its tables and targets, and writes bench/out/<name>.json.
 */
export interface Benchmark {
  /** CLI name: `npm run bench -- <name>`. */
  name: string;
  title: string;
  /** One line for `npm run bench -- --list`. */
  description: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export function target(name: string, value: number, op: Target['op'], limit: number, unit: string): Target {
  const pass = op === '>=' ? value >= limit : value <= limit;
  return { name, value, op, limit, unit, pass };
}

// ---------------------------------------------------------------- machine

export interface MachineInfo {
  date: string;
  node: string;
  cpuModel: string;
  cores: number;
  platform: string;
  totalMemoryGiB: number;
  /** 1-minute load average when the benchmark started: other processes skew timings. */
  loadAverage1m: number;
}

export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // not Linux: os.cpus() is good enough
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpuModel,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

// ---------------------------------------------------------------- timing and statistics

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs fn `reps` times after `warmup` untimed runs; returns each run's milliseconds. */
export function timeSync(fn: () => void, reps: number, warmup = 1): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM), or NaN off Linux. */
/**
 * CPU time of each thread of this process so far, ns, by thread id (Linux: /proc/self/task/<tid>/schedstat,
 * whose first field is the time the thread ran; exact, unlike the 10 ms ticks of /proc/.../stat). The
 * main thread's id is the process id; the others are V8's platform workers (compilers, concurrent GC),
 * libuv's thread pool (crypto, fs) and Node's own. Empty where /proc is not there.
 */
export function threadCpuNs(): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        out.set(Number(tid), Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    // Not Linux.
  }
  return out;
}

export function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Resets the kernel's peak-RSS mark of `pid` (VmHWM; Linux ≥ 4.0), so that a later VmHWM is the
 * peak since now, with no sampling timer in the measured process; false when not allowed.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Forces a full GC if node runs with --expose-gc (the runner passes it). */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

// ---------------------------------------------------------------- formatting

/** 1234567.8 → "1,234,568"; small numbers keep `digits` decimals. */
export function num(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return String(x);
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function bytes(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(1)} KB`;
  return `${n} B`;
}

export function formatTable(table: Table): string {
  const cols = [...new Set(table.rows.flatMap((r) => Object.keys(r)))];
  const text = (c: Cell | undefined) => (c === null || c === undefined ? '' : String(c));
  const numeric = cols.map((c) =>
    table.rows.every((r) => r[c] === undefined || r[c] === null || /^[-+]?[\d,.]+( ?[%×x]|)$/.test(text(r[c]))),
  );
  const widths = cols.map((c) => Math.max(c.length, ...table.rows.map((r) => text(r[c]).length)));
  const line = (cells: string[]) =>
    cells
      .map((s, i) => (numeric[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    table.title,
    line(cols),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.rows.map((r) => line(cols.map((c) => text(r[c])))),
  ].join('\n');
}

export function formatTarget(t: Target): string {
  const v = Math.abs(t.value) >= 100 ? num(t.value) : num(t.value, 3);
  const l = Math.abs(t.limit) >= 100 ? num(t.limit) : num(t.limit, 3);
  return `${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${v} ${t.unit} (target ${t.op} ${l} ${t.unit})`;
}

export function printResult(b: Benchmark, r: BenchResult): void {
  console.log(`\n=== ${b.title} (${b.name}) ===\n`);
  for (const t of r.tables) console.log(formatTable(t) + '\n');
  for (const n of r.notes) console.log(`note: ${n}`);
  if (r.notes.length) console.log('');
  if (r.targets.length) {
    console.log('Targets:');
    for (const t of r.targets) console.log(`  ${formatTarget(t)}`);
  }
}

export function writeResult(b: Benchmark, r: BenchResult, machine: MachineInfo, elapsedMs: number): string {
  mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `${b.name}.json`);
  const json = { benchmark: b.name, title: b.title, machine, elapsedMs: Math.round(elapsedMs), ...r };
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  return file;
}

/**
 * Typed-array bytes and collection entries reachable from `root` (own enumerable
 * properties, Maps, Sets, arrays, at most 8 deep), each ArrayBuffer counted once, `exclude`
 * skipped: what an accumulator or strategy holds (aggregation, robust-aggregation).
 */
export function ownedMemory(root: unknown, exclude: ReadonlySet<ArrayBufferLike>): { bytes: number; entries: number } {
  const seen = new Set<unknown>();
  const buffers = new Set<ArrayBufferLike>();
  let entries = 0;
  const visit = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || seen.has(v) || depth > 8) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (!exclude.has(v.buffer)) buffers.add(v.buffer);
    } else if (v instanceof ArrayBuffer) {
      if (!exclude.has(v)) buffers.add(v);
    } else if (v instanceof Map) {
      entries += v.size;
      for (const [k, x] of v) {
        visit(k, depth + 1);
        visit(x, depth + 1);
      }
    } else if (v instanceof Set) {
      entries += v.size;
      for (const x of v) visit(x, depth + 1);
    } else {
      for (const x of Object.values(v)) visit(x, depth + 1);
    }
  };
  visit(root, 0);
  let total = 0;
  for (const b of buffers) total += b.byteLength;
  return { bytes: total, entries };
}
