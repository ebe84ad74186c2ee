/**
 * A prediction shared between the main thread and the trainer's worker threads
 * (parallel-pool.ts). Chunks of rows are claimed dynamically: the main thread from the start
 * (reading the caller's features directly), the workers from the end, out of the rows the main
 * thread first copied into the shared input (a little less than their equal share: the copy costs
 * the main thread ≈ 10 % of computing them). A starved worker leaves its chunks to the main
 * thread instead of holding up the call. Every row gets the same bits whichever thread computes it
 * (forward.ts).
 */
import type { Forward } from './forward.js';
import type { ParallelPool } from './parallel-pool.js';

/** Rows per claimable chunk (small enough to balance, large enough per kernel call). */
const PREDICT_CLAIM_ROWS = 8192;
/** The main thread's share, relative to an equal share. */
const PREDICT_MAIN_SHARE = 0.94;

/**
 * Fills `probabilities` (and `logits` when given), numRows each, for the row-major
 * numRows × inputSize `features`, with the weights `params` (copied to the workers first).
 * `pass` is the main thread's forward pass over the same weights.
 */
export function predictParallel(
  pool: ParallelPool,
  pass: Forward,
  params: Float32Array,
  features: Float32Array,
  numRows: number,
  inputSize: number,
  chunkRows: number,
  probabilities: Float32Array,
  logits: Float32Array | null,
): void {
  const d = inputSize;
  const chunk = Math.max(1, Math.min(chunkRows, PREDICT_CLAIM_ROWS));
  const chunks = Math.ceil(numRows / chunk);
  const copiedFrom = Math.min(chunks, Math.ceil((chunks / pool.shards) * PREDICT_MAIN_SHARE));
  const buf = pool.predictBuffers(numRows);
  const copyFrom = Math.min(numRows, copiedFrom * chunk);
  buf.input.set(features.subarray(copyFrom * d, numRows * d), copyFrom * d);
  pool.params.set(params);
  pool.beginPredict(numRows, chunk, copiedFrom, logits !== null);
  try {
    for (let c = pool.claimLow(); c >= 0; c = pool.claimLow()) {
      pass.rows(features, c * chunk, Math.min(numRows, (c + 1) * chunk), probabilities, logits, chunk);
    }
  } finally {
    pool.finishPredict();
  }
  const theirs = Math.min(numRows, pool.firstWorkerChunk() * chunk);
  probabilities.set(buf.probabilities.subarray(theirs, numRows), theirs);
  logits?.set(buf.logits.subarray(theirs, numRows), theirs);
}
