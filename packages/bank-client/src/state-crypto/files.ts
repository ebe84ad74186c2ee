/**
 * Sealed files of the bank's state directory: whole-file envelopes (one data key per file), written
 * atomically (temp file, fsync-free rename as the rest of the state). Line logs are line-logs.ts,
 * where a file is sealed for (its context) places.ts.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  checkWeights,
  saveModelDir,
  toArtifacts,
  weightsSha256,
  loadModelDir,
  type MlpSpec,
  type ModelMetadata,
} from '@finsecure/common/model';
import type { FlatWeights } from '@finsecure/common';
import { isSealed, MAGIC, StateCryptoError, type StateCipher } from './envelope.js';
import { contextOf, openAt } from './places.js';

/** Writes `data` sealed (or plain in plaintext mode) to `file` atomically. */
export function writeStateFile(cipher: StateCipher, file: string, data: string | Uint8Array, mode = 0o600): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, cipher.seal(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, contextOf(file)), {
    mode,
  });
  renameSync(tmp, file);
}

/** Reads a state file (null when absent); throws StateCryptoError naming it when it does not open. */
export function readStateFile(cipher: StateCipher, file: string): Buffer | null {
  if (!existsSync(file)) return null;
  return openAt(cipher, readFileSync(file), file);
}

/**
 * Seals a plaintext file in place (migration); returns whether it was plaintext. A file that is
 * neither (a sealed file cut short, a JSON file that does not parse) is damaged: sealing it would
 * hide it from the operator and turn its error into a decryption one, so it is left as it is.
 * @throws StateCryptoError naming the file and what is wrong with it
 */
export function sealFileInPlace(cipher: StateCipher, file: string): boolean {
  if (!existsSync(file)) return false;
  const data = readFileSync(file);
  if (isSealed(data)) return false;
  const damaged = (what: string) =>
    new StateCryptoError(
      `${file} is damaged (${what}); it was left as it is: restore it from a backup, or move it aside to start that state afresh`,
    );
  if (data.subarray(0, MAGIC.length).equals(MAGIC)) throw damaged('an encrypted file cut short');
  if (file.endsWith('.json')) {
    try {
      JSON.parse(data.toString('utf8'));
    } catch (err) {
      throw damaged(`neither encrypted nor valid JSON: ${(err as Error).message}`);
    }
  }
  writeStateFile(cipher, file, data);
  return true;
}

/**
 * Saves a model directory (model.json + weights.bin, the TF.js layout of saveModelDir),
 * each file sealed when the state is encrypted.
 */
export async function saveStateModel(
  cipher: StateCipher,
  dir: string,
  spec: MlpSpec,
  weights: FlatWeights,
  modelVersion: number,
  scaler?: ModelMetadata['scaler'],
): Promise<void> {
  if (!cipher.encrypted) return saveModelDir(dir, spec, weights, modelVersion, scaler);
  const { modelJson, weightsBin } = await toArtifacts(spec, weights, modelVersion, scaler);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `.tmp-${process.pid}-${Date.now()}`;
  const bin = path.join(dir, 'weights.bin');
  const json = path.join(dir, 'model.json');
  await writeFile(`${bin}${tmp}`, cipher.seal(new Uint8Array(weightsBin), contextOf(bin)), { mode: 0o600 });
  await writeFile(`${json}${tmp}`, cipher.seal(Buffer.from(JSON.stringify(modelJson)), contextOf(json)), {
    mode: 0o600,
  });
  await rename(`${bin}${tmp}`, bin);
  await rename(`${json}${tmp}`, json);
}

/**
 * Loads a model directory saved by saveStateModel (or a plain one in plaintext mode), with
 * the checks of loadModelDir (shape against the spec, sha256 of the weights).
 * @throws Error naming the directory; StateCryptoError when a file does not open
 */
export async function loadStateModel(
  cipher: StateCipher,
  dir: string,
  opts: { allowPlaintext?: boolean } = {},
): Promise<{ weights: FlatWeights; metadata: ModelMetadata }> {
  const jsonPath = path.join(dir, 'model.json');
  let raw: Buffer;
  try {
    raw = await readFile(jsonPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return loadModelDir(dir);
    throw err;
  }
  if (!isSealed(raw)) {
    // In an encrypted state directory a plaintext model is a replaced file, not ours; the
    // `score` command also takes models from elsewhere (e.g. the aggregator's download).
    if (cipher.encrypted && !opts.allowPlaintext)
      throw new Error(`${jsonPath} is not encrypted but the bank state is: restore it or re-run the migration`);
    return loadModelDir(dir);
  }
  const parsed = JSON.parse(cipher.open(raw, contextOf(jsonPath)).toString('utf8')) as {
    weightsManifest?: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
    userDefinedMetadata?: { finsecure?: ModelMetadata };
  };
  const metadata = parsed.userDefinedMetadata?.finsecure;
  const group = parsed.weightsManifest?.[0];
  if (!metadata?.spec || !group || group.paths.length !== 1) throw new Error(`${jsonPath} is not a FinSecure model`);
  const binPath = path.join(dir, group.paths[0]!);
  const bin = cipher.open(await readFile(binPath), contextOf(binPath));
  if (bin.byteLength % 4 !== 0) throw new Error(`${binPath} is not a whole number of float32 values`);
  const data = new Float32Array(bin.byteLength / 4);
  new Uint8Array(data.buffer).set(bin);
  const weights = { data, manifest: group.weights.map((w) => ({ name: w.name, shape: w.shape })) };
  checkWeights(metadata.spec, weights);
  if (weightsSha256(data) !== metadata.sha256) throw new Error(`${dir}: weights do not match the sha256 in model.json`);
  return { weights, metadata };
}
