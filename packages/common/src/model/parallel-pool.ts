/**
 * Main-thread side of MlpTrainer's parallel mode: starts `shards − 1` worker threads
 * (parallel-worker.ts, each with its own TF.js wasm backend: wasm threads are hard-coded
 * off in Node), hands them the training data and prediction buffers on
 * SharedArrayBuffers, and runs commands synchronously: `begin*` wakes the workers, the
 * main thread computes its own shard meanwhile, `finish` blocks until all are done.
 *
 * The worker file is found next to this module: parallel-worker.js in dist/, or
 * parallel-worker.ts when running from sources (vitest, tsx), then loaded through tsx.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { MlpSpec } from './mlp.js';
import * as P from './parallel-protocol.js';
import { workerEntry } from '../threads/entry.js';

/** A worker that does not answer one command within this time is treated as dead. */
const COMMAND_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 60_000;

function toShared<T extends Float32Array | Uint8Array | Int32Array>(a: T, make: (sab: SharedArrayBuffer) => T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = make(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

export class ParallelPool {
  readonly control: Int32Array;
  /** Weights the workers read; the main thread writes them before each command. */
  readonly params: Float32Array;
  private readonly grads: Float32Array;
  private readonly losses: Float64Array;
  private readonly ports: MessagePort[] = [];
  private readonly workers: Worker[] = [];
  private gen = 0;
  private predictCapacity = 0;
  private predictInput: Float32Array | null = null;
  private predictProbabilities: Float32Array | null = null;
  private predictLogits: Float32Array | null = null;
  private maxShardRows = 0;
  private dead: string | null = null;

  private constructor(
    readonly spec: MlpSpec,
    readonly shards: number,
    parameterCount: number,
  ) {
    this.control = new Int32Array(new SharedArrayBuffer(4 * P.controlLength(shards)));
    this.params = new Float32Array(new SharedArrayBuffer(4 * parameterCount));
    this.grads = new Float32Array(new SharedArrayBuffer(4 * parameterCount * shards));
    this.losses = new Float64Array(new SharedArrayBuffer(8 * shards));
  }

  /**
   * Starts `shards − 1` workers and resolves when every one has its wasm backend ready.
   * Rejects (and stops the started ones) if a worker fails to start.
   */
  static async start(spec: MlpSpec, shards: number, parameterCount: number): Promise<ParallelPool> {
    const pool = new ParallelPool(spec, shards, parameterCount);
    const entry = workerEntry(import.meta.url, 'parallel-worker');
    const ready: Promise<void>[] = [];
    for (let w = 1; w < shards; w++) {
      const { port1, port2 } = new MessageChannel();
      const init: P.WorkerInit & { port: MessagePort } = {
        index: w,
        shards,
        spec,
        control: pool.control.buffer as SharedArrayBuffer,
        params: pool.params.buffer as SharedArrayBuffer,
        grads: pool.grads.buffer as SharedArrayBuffer,
        losses: pool.losses.buffer as SharedArrayBuffer,
        port: port2,
      };
      // execArgv []: the parent's flags are not all valid in a worker (e.g. --input-type
      // fails its start), and the worker needs none of them.
      const worker = new Worker(entry.file, {
        workerData: init,
        transferList: [port2],
        eval: entry.eval,
        execArgv: [],
      });
      // Never keep the process alive for an idle pool (callers that forget dispose()).
      worker.unref();
      port1.unref();
      pool.workers.push(worker);
      pool.ports.push(port1);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('training worker did not start in time')), START_TIMEOUT_MS);
          worker.once('message', (m: { ready: boolean; backend?: string; error?: string }) => {
            clearTimeout(timer);
            if (m.ready && m.backend === 'wasm') resolve();
            else reject(new Error(`training worker failed to start: ${m.error ?? `backend ${m.backend}`}`));
          });
          worker.once('error', (err) => {
            clearTimeout(timer);
            reject(new Error(`training worker failed to start: ${err.message}`));
          });
          worker.once('exit', (code) => {
            clearTimeout(timer);
            pool.dead ??= `training worker exited with code ${code}`;
            reject(new Error(pool.dead));
          });
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await pool.stop();
      throw err;
    }
    return pool;
  }

  /** Shares the training data (copied unless already on SharedArrayBuffers) and returns the shared order array. */
  loadData(features: Float32Array, labels: Uint8Array, numRows: number, maxBatchRows: number): Int32Array {
    const order = new Int32Array(new SharedArrayBuffer(4 * numRows));
    const msg: P.LoadMessage = {
      features: toShared(features, (b) => new Float32Array(b)),
      labels: toShared(labels, (b) => new Uint8Array(b)),
      order,
    };
    const shardRows = Math.ceil(maxBatchRows / this.shards);
    if (shardRows > this.maxShardRows) {
      msg.maxShardRows = shardRows;
      this.maxShardRows = shardRows;
    }
    this.load(msg);
    return order;
  }

  /** Shared prediction buffers of at least `rows` rows (grown, never shrunk). */
  predictBuffers(rows: number): { input: Float32Array; probabilities: Float32Array; logits: Float32Array } {
    if (rows > this.predictCapacity) {
      const d = this.spec.inputSize;
      this.predictInput = new Float32Array(new SharedArrayBuffer(4 * rows * d));
      this.predictProbabilities = new Float32Array(new SharedArrayBuffer(4 * rows));
      this.predictLogits = new Float32Array(new SharedArrayBuffer(4 * rows));
      this.predictCapacity = rows;
      this.load({
        predictInput: this.predictInput,
        predictProbabilities: this.predictProbabilities,
        predictLogits: this.predictLogits,
      });
    }
    return { input: this.predictInput!, probabilities: this.predictProbabilities!, logits: this.predictLogits! };
  }

  private load(msg: P.LoadMessage): void {
    for (const port of this.ports) port.postMessage(msg);
    this.begin(P.Command.Load);
    this.finish();
  }

  /** Wakes the workers for shards 1… of the batch; the caller computes shard 0, then calls finishBatch. */
  beginBatch(startRow: number, rows: number, seed: number): void {
    this.control[P.START_ROW] = startRow;
    this.control[P.ROWS] = rows;
    this.control[P.SEED] = seed;
    this.begin(P.Command.Batch);
  }

  /** Waits for the workers' shards, adds their gradients into `grad` and returns their summed loss. */
  finishBatch(grad: Float32Array): number {
    this.finish();
    const n = grad.length;
    let loss = 0;
    for (let w = 1; w < this.shards; w++) {
      const g = this.grads.subarray(w * n, (w + 1) * n);
      for (let i = 0; i < n; i++) grad[i] = grad[i]! + g[i]!;
      loss += this.losses[w]!;
    }
    return loss;
  }

  /**
   * Starts a prediction of `rows` rows in chunks of `chunkRows`: the workers claim chunks
   * from the end, down to `copiedFromChunk` (rows from there on must already be in the
   * shared input); the caller claims from the start with claimChunk(control, false).
   */
  beginPredict(rows: number, chunkRows: number, copiedFromChunk: number, withLogits: boolean): void {
    const chunks = Math.ceil(rows / chunkRows);
    if (chunks > 0xffff) throw new Error(`prediction of ${rows} rows in ${chunkRows}-row chunks: too many chunks`);
    this.control[P.PREDICT_ROWS] = rows;
    this.control[P.CHUNK] = chunkRows;
    this.control[P.COPIED_FROM] = copiedFromChunk;
    this.control[P.WITH_LOGITS] = withLogits ? 1 : 0;
    Atomics.store(this.control, P.CLAIMS, chunks << 16);
    this.begin(P.Command.Predict);
  }

  /** The next chunk for the main thread, or −1. */
  claimLow(): number {
    return P.claimChunk(this.control, false);
  }

  /** After finishPredict: the first chunk the workers computed (all chunks from there on are theirs). */
  firstWorkerChunk(): number {
    return Atomics.load(this.control, P.CLAIMS) & 0xffff;
  }

  finishPredict(): void {
    this.finish();
  }

  private begin(cmd: number): void {
    if (this.dead) throw new Error(this.dead);
    this.gen = (this.gen + 1) | 0;
    Atomics.store(this.control, P.CMD, cmd);
    Atomics.store(this.control, P.GEN, this.gen);
    Atomics.notify(this.control, P.GEN);
  }

  /** Blocks until every worker has finished the current command; throws a worker's error. */
  private finish(): void {
    const deadline = performance.now() + COMMAND_TIMEOUT_MS;
    for (let w = 1; w < this.shards; w++) {
      const at = P.slot(w) + P.DONE;
      for (;;) {
        const v = Atomics.load(this.control, at);
        if (v === this.gen) break;
        if (P.spinWhileEqual(this.control, at, v, P.SPIN_MS)) continue;
        const left = deadline - performance.now();
        if (left <= 0) {
          this.dead = `training worker ${w} did not answer within ${COMMAND_TIMEOUT_MS / 1000} s`;
          void this.stop();
          throw new Error(this.dead);
        }
        Atomics.wait(this.control, at, v, Math.min(left, 1000));
      }
      if (Atomics.load(this.control, P.slot(w) + P.ERROR)) {
        const msg = receiveMessageOnPort(this.ports[w - 1]!)?.message as string | undefined;
        throw new Error(`training worker ${w}: ${msg ?? 'unknown error'}`);
      }
    }
  }

  get alive(): boolean {
    return this.dead === null;
  }

  /** Stops the workers (idempotent). */
  async stop(): Promise<void> {
    this.dead ??= 'the training workers were stopped';
    this.gen = (this.gen + 1) | 0;
    Atomics.store(this.control, P.CMD, P.Command.Stop);
    Atomics.store(this.control, P.GEN, this.gen);
    Atomics.notify(this.control, P.GEN);
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.ports.forEach((p) => p.close());
  }
}
