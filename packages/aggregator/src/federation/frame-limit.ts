/**
 * Does the model fit the frame limit? Every round sends the global model to each bank and
 * gets an update of the same size back; if either frame is larger than `maxFrameBytes`, the
 * WebSocket closes with 1009, the bank reconnects, and every round fails as "disconnected".
 * The aggregator checks this at start-up, by encoding the largest frame a round sends (the
 * assignment: the full float32 model plus the scaler and training config in its header).
 */
import { encodeFrame, type TrainingConfig } from '@finsecure/common/protocol';
import { manifestFor, type MlpSpec } from '@finsecure/common/model';

/** Number of weights of the MLP described by `spec`. */
export function parameterCount(spec: MlpSpec): number {
  return manifestFor(spec).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Bytes of the largest frame of a round for this model (a round assignment: float32 weights,
 * a scaler of worst-case-length numbers, the training config).
 */
export function largestRoundFrameBytes(spec: MlpSpec, training: TrainingConfig): number {
  const wide = -1.2345678901234567e-123; // the longest JSON a float64 can print
  const frame = encodeFrame(
    {
      type: 'round_assignment',
      roundId: 1_000_000_000,
      modelVersion: 1_000_000_000,
      deadlineInMs: 86_400_000,
      config: training,
      scaler: { mean: new Array(spec.inputSize).fill(wide), std: new Array(spec.inputSize).fill(Math.abs(wide)) },
    },
    [{ name: 'global', shape: [parameterCount(spec)], data: new Float32Array(parameterCount(spec)) }],
  );
  return frame.byteLength;
}

/**
 * Throws an Error naming both numbers when the model's frames cannot fit `maxFrameBytes`.
 */
export function checkFrameLimit(spec: MlpSpec, training: TrainingConfig, maxFrameBytes: number): void {
  const need = largestRoundFrameBytes(spec, training);
  if (need > maxFrameBytes) {
    throw new Error(
      `the model (hidden [${spec.hidden.join(', ')}], ${parameterCount(spec)} parameters) needs frames of ${need} bytes, ` +
        `more than maxFrameBytes ${maxFrameBytes} (FINSECURE_MAX_FRAME_BYTES); raise it to at least ${need} or use a smaller model`,
    );
  }
}
