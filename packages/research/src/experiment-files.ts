/**
 * Writing a prepared experiment to disk in the `datasets partition` format
 * (common/partition/files.ts). The federated simulation's banks load their shards from
 * these files, like any bank client, so the files must hold exactly the rows the
 * in-process runs (baseline, local-only) train and evaluate on.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeCsv } from '@finsecure/common/data';
import type { PartitionManifest } from '@finsecure/common/partition';
import type { Experiment } from './experiment.js';

/**
 * Writes bank-1.csv … bank-N.csv, test.csv and manifest.json (the `datasets partition`
 * format) for bank clients to load. Values round-trip exactly (float32 shortest form).
 */
export async function writeExperimentFiles(
  exp: Experiment,
  dir: string,
): Promise<{ shards: string[]; test: string; manifest: string }> {
  await mkdir(dir, { recursive: true });
  const shardFiles: string[] = [];
  let fileLayout = '';
  for (let b = 0; b < exp.shards.length; b++) {
    const file = path.join(dir, `bank-${b + 1}.csv`);
    fileLayout = await writeCsv(exp.shards[b]!, file);
    shardFiles.push(file);
  }
  const testFile = path.join(dir, 'test.csv');
  await writeCsv(exp.test, testFile);
  const info = (s: { rows: number; frauds: number }, file: string) => ({
    file,
    rows: s.rows,
    frauds: s.frauds,
    fraudRate: s.rows ? s.frauds / s.rows : 0,
  });
  const manifest: PartitionManifest = {
    version: 1,
    source: { path: exp.spec.source, layout: exp.spec.layout, rows: exp.totalRows, frauds: exp.totalFrauds },
    scheme: exp.spec.scheme,
    ...(exp.spec.alpha !== null ? { alpha: exp.spec.alpha } : {}),
    seed: exp.spec.seed,
    banks: exp.spec.banks,
    minFraudPerBank: exp.spec.minFraudPerBank,
    split: { kind: exp.spec.split, testFraction: exp.spec.testFraction },
    featureNames: [...exp.featureNames],
    fileLayout,
    test: info(exp.summary.test, 'test.csv'),
    shards: exp.summary.shards.map((s) => ({
      ...info(s, `bank-${s.bank}.csv`),
      bank: s.bank,
      ...(s.groups !== undefined ? { groups: s.groups } : {}),
    })),
  };
  const manifestFile = path.join(dir, 'manifest.json');
  await writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  return { shards: shardFiles, test: testFile, manifest: manifestFile };
}
