/**
 * What `finsecure-bank score` does when it runs (main.ts defines the command): reads the key
 * and the mapping, scores the file and maps errors to exit codes (2: bad input, 1: crash).
 * Imported by the command's action only: scoring loads TF.js, which `finsecure-bank --help`
 * does not need.
 */
import { readMappingFile } from '../config/index.js';
import { ScoreInputError, scoreFile } from '../score.js';
import { DataError } from '@finsecure/common/data';
import { StateCryptoError } from '../state-crypto/index.js';
import { cipherFromKeyOrFail } from './open-state.js';
import { fail } from './fail.js';
import { statSync } from 'node:fs';
import path from 'node:path';

/** Bad input to `score`: the data, the model directory or the key; not a crash. */
function isBadScoreInput(err: unknown): boolean {
  return err instanceof DataError || err instanceof StateCryptoError || err instanceof ScoreInputError;
}

export interface ScoreOptions {
  model: string;
  data: string;
  out: string;
  layout?: string;
  mapping?: string;
  stateKeyFile?: string;
}

/** `finsecure-bank score` with its flags as parsed. */
export async function runScore(o: ScoreOptions): Promise<void> {
  // The scores replace --out: never the bank's own transactions (the same file by another name too).
  if (sameFile(o.out, o.data))
    fail(
      `--out ${o.out} is the --data file: writing the scores there would replace the transactions; give another file`,
    );
  const cipher = cipherFromKeyOrFail(o.stateKeyFile);
  if (o.layout && !['auto', 'kaggle', 'handbook'].includes(o.layout))
    fail(`--layout must be auto, kaggle or handbook, got "${o.layout}"`);
  const mappingFile = o.mapping ?? (process.env.FINSECURE_MAPPING || undefined);
  if (mappingFile && o.layout && o.layout !== 'auto')
    fail('--mapping and --layout cannot be combined: a mapping is the layout');
  let mapping;
  try {
    mapping = mappingFile ? readMappingFile(mappingFile, o.mapping ? '--mapping' : 'FINSECURE_MAPPING') : undefined;
  } catch (err) {
    fail((err as Error).message);
  }
  try {
    const r = await scoreFile({
      model: o.model,
      data: o.data,
      out: o.out,
      layout: (o.layout ?? 'auto') as 'auto',
      ...(mapping ? { mapping } : {}),
      cipher,
      onNotice: (notice) => process.stderr.write(`finsecure-bank: note: ${notice}\n`),
    });
    process.stdout.write(`scored ${r.rows} transactions with global model v${r.modelVersion} → ${r.out}\n`);
  } catch (err) {
    // Bad input (file, line, column; no model in --model; a model of another width)
    // exits 2 like the other commands; so does a sealed model without its key (the
    // message names the settings); anything else 1.
    fail((err as Error).message, isBadScoreInput(err) ? 2 : 1);
  }
}

/** Whether `a` and `b` name one file: the same path, or (both existing) the same inode, e.g. through a link. */
function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}
