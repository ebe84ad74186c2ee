/**
 * Data for `npm start`: synthetic credit-card-like data (or the user's CSV), split into
 * a shared test set and non-IID bank shards once, then reused by later runs so that a
 * restarted federation trains on the same shards it started with.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadCsv, writeSyntheticCsv } from '@finsecure/common/data';
import { writePartitionFiles, type PartitionManifest, type PartitionScheme } from '@finsecure/common/partition';

export interface LocalShardOptions {
  dir: string;
  data?: string | undefined;
  rows: number;
  fraudRate: number;
  banks: number;
  scheme: PartitionScheme;
  alpha: number;
  seed: number;
}

export interface LocalShards {
  source: string;
  numFeatures: number;
  banks: { id: string; name: string; file: string; rows: number; frauds: number }[];
}

function sameRequest(m: PartitionManifest, o: LocalShardOptions, source: string): boolean {
  return (
    m.banks === o.banks &&
    m.scheme === o.scheme &&
    m.seed === o.seed &&
    path.resolve(m.source.path) === path.resolve(source) &&
    (m.alpha ?? o.alpha) === o.alpha
  );
}

/** Fraud rows each bank is given at least, when the data holds that many (its test split needs some). */
const MIN_FRAUD_PER_BANK = 5;
/** Rows held out as the federation's test set (stratified). */
const TEST_FRACTION = 0.2;

export async function prepareLocalShards(o: LocalShardOptions): Promise<LocalShards> {
  const manifestFile = path.join(o.dir, 'shards', 'manifest.json');
  let source = o.data ? path.resolve(o.data) : path.join(o.dir, `synthetic-${o.rows}-${o.fraudRate}-${o.seed}.csv`);
  if (!o.data && !existsSync(source)) {
    process.stdout.write(
      `Generating ${o.rows.toLocaleString('en')} rows of synthetic card transactions (${(o.fraudRate * 100).toFixed(2)} % fraud)…\n`,
    );
    await writeSyntheticCsv({ rows: o.rows, fraudRate: o.fraudRate, seed: o.seed }, source);
  }
  if (!existsSync(source)) throw new Error(`--data ${o.data}: no such file`);
  source = path.resolve(source);
  let manifest: PartitionManifest | null = null;
  if (existsSync(manifestFile)) {
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as PartitionManifest;
    if (sameRequest(m, o, source)) manifest = m;
  }
  if (!manifest) {
    process.stdout.write(
      `Partitioning ${path.basename(source)} into ${o.banks} banks (${o.scheme}${o.scheme === 'dirichlet' || o.scheme === 'quantity' ? `, α = ${o.alpha}` : ''})…\n`,
    );
    const loaded = await loadCsv(source);
    // Five frauds per bank when the data has them; a small file (--rows 1000: about 10 frauds for
    // 3 banks) gets as many as it can give each bank, rather than a partition that cannot be made.
    // The guarantee is on the training rows, after the test split (stratified) holds out its share.
    const trainFrauds = loaded.frauds - Math.ceil(loaded.frauds * TEST_FRACTION);
    const minFraudPerBank = Math.min(MIN_FRAUD_PER_BANK, Math.floor(trainFrauds / o.banks));
    if (minFraudPerBank < MIN_FRAUD_PER_BANK)
      process.stdout.write(
        `  ${trainFrauds} training fraud row(s) for ${o.banks} banks: each bank is given at least ${minFraudPerBank} (${MIN_FRAUD_PER_BANK} with more data)\n`,
      );
    manifest = await writePartitionFiles(
      loaded.dataset,
      { path: source, layout: loaded.layout },
      { scheme: o.scheme, banks: o.banks, seed: o.seed, alpha: o.alpha, minFraudPerBank, testFraction: TEST_FRACTION },
      path.dirname(manifestFile),
    );
  }
  return {
    source,
    numFeatures: manifest.featureNames.length,
    banks: manifest.shards.map((s) => ({
      id: `bank-${s.bank}`,
      name: `Bank ${s.bank}`,
      file: path.join(path.dirname(manifestFile), s.file),
      rows: s.rows,
      frauds: s.frauds,
    })),
  };
}
