/**
 * Global models in the standard TF.js "layers-model" format (model.json + weights.bin),
 * so a bank or an admin can load them with `tf.loadLayersModel` in any TF.js runtime,
 * and our own scorer can read them back without a network or filesystem IO handler.
 * FinSecure's own metadata (spec, model version, sha256 of the weights) rides in
 * `userDefinedMetadata`, which TF.js preserves.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { FlatWeights } from '../types/index.js';
import { checkWeights, layerNames, manifestFor, splitFlat, validateSpec, type MlpSpec } from './mlp.js';

export interface ModelArtifacts {
  modelJson: Record<string, unknown>;
  weightsBin: Uint8Array;
}

export interface ModelMetadata {
  spec: MlpSpec;
  modelVersion: number;
  sha256: string;
  /** The standard scaler inputs must go through before the model (raw features in). */
  scaler?: { mean: number[]; std: number[] };
}

export function weightsSha256(data: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

/** Builds the equivalent tf.layers model (used for topology JSON and by TF.js users). */
export function buildLayersModel(spec: MlpSpec): tfl.Sequential {
  validateSpec(spec);
  const names = layerNames(spec);
  const model = tfl.sequential({ name: 'finsecure_mlp' });
  spec.hidden.forEach((units, i) => {
    model.add(
      tfl.layers.dense({
        units,
        activation: 'relu',
        name: names[i],
        ...(i === 0 ? { inputShape: [spec.inputSize] } : {}),
      }),
    );
    if (spec.dropout > 0) model.add(tfl.layers.dropout({ rate: spec.dropout, name: `dropout_${i + 1}` }));
  });
  model.add(tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'output' }));
  return model;
}

export async function toArtifacts(
  spec: MlpSpec,
  weights: FlatWeights,
  modelVersion: number,
  scaler?: ModelMetadata['scaler'],
): Promise<ModelArtifacts> {
  checkWeights(spec, weights);
  const model = buildLayersModel(spec);
  try {
    const parts = splitFlat(weights);
    model.setWeights(manifestFor(spec).map((t, i) => tf.tensor(parts[i]!, t.shape)));
    let modelTopology: unknown;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        modelTopology = a.modelTopology;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    // Weight names in the manifest are ours (dense_1/kernel ...), which match the layer
    // names TF.js derives when loading, so loadLayersModel accepts them.
    const metadata: ModelMetadata = {
      spec,
      modelVersion,
      sha256: weightsSha256(weights.data),
      ...(scaler ? { scaler } : {}),
    };
    const modelJson = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
      convertedBy: 'FinSecure',
      modelTopology,
      weightsManifest: [
        {
          paths: ['weights.bin'],
          weights: weights.manifest.map((t) => ({ name: t.name, shape: t.shape, dtype: 'float32' })),
        },
      ],
      userDefinedMetadata: { finsecure: metadata },
    };
    const weightsBin = new Uint8Array(weights.data.byteLength);
    weightsBin.set(new Uint8Array(weights.data.buffer, weights.data.byteOffset, weights.data.byteLength));
    return { modelJson, weightsBin };
  } finally {
    model.dispose();
  }
}

/** Writes model.json and weights.bin atomically (temp files then rename). */
export async function saveModelDir(
  dir: string,
  spec: MlpSpec,
  weights: FlatWeights,
  modelVersion: number,
  scaler?: ModelMetadata['scaler'],
): Promise<void> {
  const { modelJson, weightsBin } = await toArtifacts(spec, weights, modelVersion, scaler);
  await mkdir(dir, { recursive: true });
  const tmp = `.tmp-${process.pid}-${Date.now()}`;
  await writeFile(path.join(dir, `weights.bin${tmp}`), weightsBin);
  await writeFile(path.join(dir, `model.json${tmp}`), JSON.stringify(modelJson));
  await rename(path.join(dir, `weights.bin${tmp}`), path.join(dir, 'weights.bin'));
  await rename(path.join(dir, `model.json${tmp}`), path.join(dir, 'model.json'));
}

/** Reads a model directory written by saveModelDir (or downloaded from the aggregator). */
export async function loadModelDir(dir: string): Promise<{ weights: FlatWeights; metadata: ModelMetadata }> {
  const jsonPath = path.join(dir, 'model.json');
  let parsed: {
    weightsManifest?: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
    userDefinedMetadata?: { finsecure?: ModelMetadata };
  };
  try {
    parsed = JSON.parse(await readFile(jsonPath, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(
        `${dir}: no model there (no model.json); the bank daemon (finsecure-bank start) saves each global model in <state-dir>/model and <state-dir>/models/v<N>`,
      );
    throw new Error(`cannot read model ${jsonPath}: ${(err as Error).message}`);
  }
  const metadata = parsed.userDefinedMetadata?.finsecure;
  if (!metadata?.spec)
    throw new Error(`${jsonPath} is not a FinSecure model (userDefinedMetadata.finsecure is missing)`);
  const group = parsed.weightsManifest?.[0];
  if (!group || group.paths.length !== 1) throw new Error(`${jsonPath}: expected one weights file in weightsManifest`);
  const bin = await readFile(path.join(dir, group.paths[0]!));
  const manifest = group.weights.map((w) => ({ name: w.name, shape: w.shape }));
  if (bin.byteLength % 4 !== 0)
    throw new Error(`${group.paths[0]} has ${bin.byteLength} bytes, not a whole number of float32 values`);
  const data = new Float32Array(bin.byteLength / 4);
  new Uint8Array(data.buffer).set(bin);
  const weights = { data, manifest };
  checkWeights(metadata.spec, weights);
  if (weightsSha256(data) !== metadata.sha256) throw new Error(`${dir}: weights do not match the sha256 in model.json`);
  return { weights, metadata };
}
