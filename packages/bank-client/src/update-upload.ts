/**
 * The way out of an update, plaintext or masked (the pull protocol of issue 14): the update frame is built
 * as soon as training ends, offered to the aggregator (`update_offer`), and sent only when the
 * aggregator grants the upload (`upload_grant`), so that it takes a few updates at a time, or at once
 * when the round assignment granted it in advance (`preGrantedUpload`, round-tasks.ts offerUpload). An
 * offer is dropped when it is refused, its round fails or the connection is replaced; the DP
 * release is recorded in the ledger only as the frame actually leaves.
 */
import type { Logger } from 'pino';
import {
  encodeFrame,
  type RoundAssignment,
  type SecAggMaskedUpdate,
  type TensorInput,
} from '@finsecure/common/protocol';
import type { LocalPrivacyLedger } from './privacy.js';
import type { EffectiveDp, FitOutput } from './round-work.js';

interface PendingUpload {
  roundId: number;
  connection: number;
  frame: Uint8Array;
  /** DP of the update: recorded in the ledger when the frame is released. */
  dp: (EffectiveDp & { delta: number }) | null;
  /** What the "update sent" log line says. */
  summary: Record<string, unknown>;
}

/** What the offer says: the frame's size and the update's FedAvg weight. */
export interface Offer {
  bytes: number;
  numExamples: number;
}

/**
 * The update frame of a round's training result, or why it cannot be sent: larger than the
 * aggregator's frame limit (sending it would only get the socket closed with 1009, and the round
 * retried forever). Built before anything is released, so a frame that cannot be built costs no
 * privacy budget.
 */
export function updateFrame(msg: RoundAssignment, out: FitOutput, maxFrameBytes: number): Uint8Array | string {
  const frame = encodeFrame(
    {
      type: 'update',
      roundId: msg.roundId,
      modelVersion: msg.modelVersion,
      kind: 'delta',
      numExamples: out.numExamples,
      numTrained: out.numTrained,
      loss: out.loss,
      timings: { trainMs: out.trainMs, prepareMs: out.prepareMs },
      // Only the parameters travel; whether clipping bit stays in the bank (it is not noised).
      ...(out.dp ? { dp: { clip: out.dp.clip, noiseMultiplier: out.dp.noiseMultiplier } } : {}),
    },
    [{ name: 'update', shape: [out.delta.length], data: out.delta }],
    { encoding: msg.config.updateEncoding },
  );
  return withinLimit(frame, 'update frame', maxFrameBytes);
}

/**
 * The frame of a secure round's masked update (secagg/secure-fit.ts builds the message), or why it
 * cannot be sent (over the aggregator's frame limit, as for `updateFrame`).
 */
export function maskedFrame(
  msg: SecAggMaskedUpdate,
  tensors: TensorInput[],
  maxFrameBytes: number,
): Uint8Array | string {
  return withinLimit(encodeFrame(msg, tensors), 'masked update frame', maxFrameBytes);
}

/** The frame, or why the aggregator would refuse it: larger than its frame limit. */
function withinLimit(frame: Uint8Array, what: string, maxFrameBytes: number): Uint8Array | string {
  if (frame.byteLength > maxFrameBytes)
    return `${what} of ${frame.byteLength} bytes exceeds the aggregator's frame limit of ${maxFrameBytes} bytes`;
  return frame;
}

/** At most one update waiting for its grant (a bank trains one round at a time). */
export class UpdateUpload {
  private pending: PendingUpload | null = null;
  /**
   * The round of the last update this bank released (plaintext or masked), null before the first:
   * the bank evaluates only a round it sent its update in (frame-dispatch.ts admitEvaluation).
   */
  released: number | null = null;

  constructor(
    private readonly ledger: LocalPrivacyLedger,
    private readonly logger: Logger,
  ) {}

  /** Holds the frame until its grant; returns what to offer. */
  hold(
    roundId: number,
    connection: number,
    frame: Uint8Array,
    out: FitOutput,
    dp: (EffectiveDp & { delta: number }) | null,
  ): Offer {
    this.pending = {
      roundId,
      connection,
      frame,
      dp,
      summary: {
        roundId,
        loss: Number(out.loss.toFixed(5)),
        examples: out.numExamples,
        synthetic: out.numSynthetic,
        trainMs: Math.round(out.trainMs),
        bytes: frame.byteLength,
        ...(out.dp ? { clipped: out.dp.clipped } : {}),
      },
    };
    // At least 1: the schema's floor (a secure round's weight travels inside the masked update).
    return { bytes: frame.byteLength, numExamples: Math.max(1, out.numExamples) };
  }

  /**
   * The aggregator granted round `roundId`'s upload on connection `connection`: the frame to send
   * (the DP release is recorded now), or null when no held update matches. The grant may come after
   * the round's deadline on this bank's clock (the offer was judged in time), so only the round and
   * the connection are checked.
   */
  grant(roundId: number, connection: number): Uint8Array | null {
    const p = this.pending;
    if (!p || p.roundId !== roundId || p.connection !== connection) {
      this.logger.warn({ roundId }, 'upload grant for no update of ours; ignored');
      return null;
    }
    this.pending = null;
    this.released = roundId;
    if (p.dp) this.ledger.record(p.dp.noiseMultiplier);
    this.logger.info({ ...p.summary, ...(p.dp ? { epsilon: this.ledger.epsilon(p.dp.delta) } : {}) }, 'update sent');
    return p.frame;
  }

  /** Forgets round `roundId`'s update (its offer was refused or the round failed). */
  drop(roundId: number): void {
    if (this.pending?.roundId === roundId) this.pending = null;
  }
}
