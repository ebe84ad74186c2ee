/**
 * Worker-thread entry of MlpTrainer's parallel mode (parallel-pool.ts starts it): its own
 * TF.js wasm backend, then a loop that blocks on the shared control word and runs one
 * command per generation: a shard of a batch (gradient into its block of `grads`), rows
 * of a prediction, a data load, or stop. Kept small: the arithmetic is step.ts.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './backend.js';
import * as P from './parallel-protocol.js';
import { createForward, type Forward } from './forward.js';
import { shardSeed } from './dropout.js';
import { createBatchGradient, type ShardGradient } from './kernel-gradient.js';

const init = workerData as P.WorkerInit & { port: MessagePort };
const control = new Int32Array(init.control);
const params = new Float32Array(init.params);
const size = params.length;
const grad = new Float32Array(init.grads, init.index * size * 4, size);
const losses = new Float64Array(init.losses);
const me = P.slot(init.index);
let data: Required<Pick<P.LoadMessage, 'features' | 'labels' | 'order'>> | null = null;
let engine: ShardGradient | null = null;
let forward: Forward | null = null;
let predictBuffers: Pick<P.LoadMessage, 'predictInput' | 'predictProbabilities' | 'predictLogits'> = {};

function run(cmd: number): void {
  if (cmd === P.Command.Load) {
    const msg = receiveMessageOnPort(init.port)?.message as P.LoadMessage | undefined;
    if (!msg) throw new Error('load command without a message');
    if (msg.features && msg.labels && msg.order)
      data = { features: msg.features, labels: msg.labels, order: msg.order };
    if (msg.maxShardRows && (!engine || engine.maxRows < msg.maxShardRows))
      engine = createBatchGradient(init.spec, msg.maxShardRows);
    if (msg.predictInput) predictBuffers = msg;
  } else if (cmd === P.Command.Batch) {
    if (!data || !engine) throw new Error('batch command before the data was loaded');
    const rows = control[P.ROWS]!;
    const [from, to] = P.shardRange(rows, init.index, init.shards);
    losses[init.index] =
      to > from
        ? engine.compute(
            params,
            {
              features: data.features,
              labels: data.labels,
              order: data.order,
              startRow: control[P.START_ROW]! + from,
              rows: to - from,
              seed: shardSeed(control[P.SEED]!, init.index),
              divisor: rows,
            },
            grad,
          )
        : (grad.fill(0), 0);
  } else if (cmd === P.Command.Predict) {
    const { predictInput, predictProbabilities, predictLogits } = predictBuffers;
    if (!predictInput || !predictProbabilities) throw new Error('predict command before its buffers were loaded');
    forward ??= createForward(init.spec);
    forward.setWeights(params);
    const rows = control[P.PREDICT_ROWS]!;
    const chunk = control[P.CHUNK]!;
    const logits = control[P.WITH_LOGITS] ? (predictLogits ?? null) : null;
    for (;;) {
      const c = P.claimChunk(control, true, control[P.COPIED_FROM]!);
      if (c < 0) break;
      const from = c * chunk;
      const to = Math.min(rows, from + chunk);
      forward.rows(predictInput, from, to, predictProbabilities, logits, chunk);
    }
  }
}

async function main(): Promise<void> {
  const info = await initBackend('wasm');
  tf.env().set('PROD', true);
  // Read the generation before announcing readiness: the main thread may send its first
  // command as soon as it hears from us.
  let seen = Atomics.load(control, P.GEN);
  parentPort!.postMessage({ ready: true, backend: info.backend });
  for (;;) {
    if (!P.spinWhileEqual(control, P.GEN, seen, P.SPIN_MS)) Atomics.wait(control, P.GEN, seen);
    seen = Atomics.load(control, P.GEN);
    const cmd = Atomics.load(control, P.CMD);
    if (cmd === P.Command.Stop) return;
    try {
      run(cmd);
      Atomics.store(control, me + P.ERROR, 0);
    } catch (err) {
      // The main thread reads the message synchronously after seeing the error flag.
      init.port.postMessage((err as Error).message ?? String(err));
      Atomics.store(control, me + P.ERROR, 1);
    }
    Atomics.store(control, me + P.DONE, seen);
    Atomics.notify(control, me + P.DONE);
  }
}

main().catch((err: unknown) => {
  parentPort!.postMessage({ ready: false, error: (err as Error).message ?? String(err) });
});
