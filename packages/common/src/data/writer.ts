/**
 * Writes a Dataset back to CSV in a layout `loadCsv` auto-detects, so partition shards
 * and test sets reload with the same features, labels, groups and times:
 * - Kaggle features (Time, V1..V28, Amount) without groups -> Kaggle layout;
 * - handbook features -> handbook layout (CUSTOMER_ID / TX_TIME_SECONDS when present);
 * - anything else -> `finsecure` layout: feature columns, `Class`, optional `_group`, `_time`.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import { once } from 'node:events';
import type { Dataset } from '../types/index.js';
import { quoteCsvField } from './csv.js';
import {
  FINSECURE_GROUP,
  FINSECURE_LABEL,
  FINSECURE_TIME,
  HANDBOOK_FEATURES,
  HANDBOOK_GROUP,
  HANDBOOK_LABEL,
  HANDBOOK_TIME,
  KAGGLE_FEATURES,
  KAGGLE_LABEL,
  type LayoutName,
} from './layouts.js';

const POW10 = Array.from({ length: 23 }, (_, i) => Math.pow(10, i)); // exact doubles

/** m · 10^s as the double a correctly rounding parser (Number("…")) would produce. */
function decimalValue(m: number, s: number): number {
  if (s >= 0) return s < 23 ? m * POW10[s] : Number(`${m}e${s}`);
  return -s < 23 ? m / POW10[-s] : Number(`${m}e${s}`);
}

/**
 * Shortest decimal (≤ 9 significant digits) that parses back to the same float32, e.g.
 * 12.34 rather than String(x)'s "12.34000015258789". Integer arithmetic instead of
 * toPrecision: writing 8.5 M values of the Kaggle file took 7 s the slow way.
 * Each candidate is checked exactly as the loader will parse it (decimal -> double ->
 * float32), so the output always round-trips; String(x) is the never-needed fallback.
 */
export function formatFloat32(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v === 0 ? 0 : v);
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  let e = Math.floor(Math.log10(a));
  if (decimalValue(1, e) > a) e--; // log10 can be off by one near powers of ten
  else if (decimalValue(1, e + 1) <= a) e++;
  for (let p = 6; p <= 9; p++) {
    let s = e - p + 1;
    let m = Math.round(s >= 0 ? a / decimalValue(1, s) : a * decimalValue(1, -s));
    if (Math.fround(decimalValue(m, s)) !== a) continue;
    while (m % 10 === 0) {
      m /= 10;
      s++;
    }
    const digits = String(m);
    const sign = v < 0 ? '-' : '';
    if (s >= 0) return s > 20 ? `${sign}${digits}e${s}` : sign + digits + '0'.repeat(s);
    const point = digits.length + s;
    if (point > 0) return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
    return point < -20 ? `${sign}${digits}e${s}` : `${sign}0.${'0'.repeat(-point)}${digits}`;
  }
  return String(v);
}

/** Buffered line writer with backpressure; gzip when the path ends in .gz. */
export class CsvFileWriter {
  private readonly file: WriteStream;
  private readonly sink: WriteStream | Gzip;
  private chunk: string[] = [];
  private chunkChars = 0;

  private constructor(readonly path: string) {
    this.file = createWriteStream(path);
    if (path.toLowerCase().endsWith('.gz')) {
      const gz = createGzip();
      gz.pipe(this.file);
      this.sink = gz;
    } else {
      this.sink = this.file;
    }
  }

  static async open(path: string): Promise<CsvFileWriter> {
    await mkdir(dirname(path), { recursive: true });
    const w = new CsvFileWriter(path);
    await Promise.race([once(w.file, 'open'), once(w.file, 'error').then(([e]) => Promise.reject(e))]);
    return w;
  }

  /** Queues one line (without newline); flushes in ~1 MB writes. */
  async line(text: string): Promise<void> {
    this.chunk.push(text);
    this.chunkChars += text.length + 1;
    if (this.chunkChars >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.chunk.length === 0) return;
    const data = this.chunk.join('\n') + '\n';
    this.chunk = [];
    this.chunkChars = 0;
    if (!this.sink.write(data)) await once(this.sink, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    const finished = once(this.file, 'close');
    this.sink.end();
    await finished;
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Which layout `writeCsv` will use for this dataset (see the module comment). */
export function layoutForWriting(ds: Dataset): LayoutName {
  if (!ds.groups && sameNames(ds.featureNames, KAGGLE_FEATURES)) {
    // Time is both a feature and the row time; only one column can carry both, so this
    // is Kaggle only while they agree (not after scaling, say).
    const t = ds.times;
    const d = ds.numFeatures;
    let agree = true;
    if (t) for (let i = 0; i < ds.numRows && agree; i++) agree = Math.fround(t[i]) === ds.features[i * d];
    if (agree) return 'kaggle';
  }
  if (sameNames(ds.featureNames, HANDBOOK_FEATURES)) return 'handbook';
  return 'finsecure';
}

export interface WriteOptions {
  /** Called every `progressEvery` rows and at the end. */
  onProgress?: (rowsWritten: number) => void;
  progressEvery?: number;
}

/** Writes `ds` to `path` (gzip if it ends in .gz). Returns the layout used. */
export async function writeCsv(ds: Dataset, path: string, options: WriteOptions = {}): Promise<LayoutName> {
  const layout = layoutForWriting(ds);
  const d = ds.numFeatures;
  const { features, labels, groups, times } = ds;
  let header: string[];
  // Per-row prefix cells (group, time) and whether Kaggle's Time comes from `times`.
  let prefix: (i: number) => string = () => '';
  let labelLast = false;
  if (layout === 'kaggle') {
    header = [...KAGGLE_FEATURES, KAGGLE_LABEL];
    labelLast = true;
  } else if (layout === 'handbook') {
    header = [];
    if (groups) header.push(HANDBOOK_GROUP);
    if (times) header.push(HANDBOOK_TIME);
    header.push(HANDBOOK_LABEL, ...HANDBOOK_FEATURES);
    prefix = (i) =>
      (groups ? quoteCsvField(groups[i]) + ',' : '') + (times ? String(times[i]) + ',' : '') + labels[i] + ',';
  } else {
    const reserved = new Set([FINSECURE_LABEL, FINSECURE_GROUP, FINSECURE_TIME]);
    const bad = ds.featureNames.find((n) => reserved.has(n));
    if (bad) throw new Error(`writeCsv: feature name "${bad}" is reserved in the finsecure layout`);
    if (new Set(ds.featureNames).size !== d) throw new Error('writeCsv: feature names must be unique');
    header = [...ds.featureNames, FINSECURE_LABEL];
    if (groups) header.push(FINSECURE_GROUP);
    if (times) header.push(FINSECURE_TIME);
    labelLast = true;
  }
  const out = await CsvFileWriter.open(path);
  try {
    await out.line(header.map(quoteCsvField).join(','));
    const every = Math.max(1, options.progressEvery ?? 16384);
    const cells = new Array<string>(d);
    for (let i = 0; i < ds.numRows; i++) {
      const o = i * d;
      for (let j = 0; j < d; j++) cells[j] = formatFloat32(features[o + j]);
      if (layout === 'kaggle' && times) cells[0] = String(times[i]);
      let row = prefix(i) + cells.join(',');
      if (labelLast) {
        row += ',' + labels[i];
        if (layout === 'finsecure') {
          if (groups) row += ',' + quoteCsvField(groups[i]);
          if (times) row += ',' + String(times[i]);
        }
      }
      await out.line(row);
      if (options.onProgress && (i + 1) % every === 0) options.onProgress(i + 1);
    }
  } finally {
    await out.close();
  }
  options.onProgress?.(ds.numRows);
  return layout;
}
