/**
 * Frames that carry a model to many banks, sent by reference where a bank already holds the
 * weights (BANK_FEATURES.modelByReference in common/protocol/messages.ts).
 *
 * Why: a plain round sent each bank the same weights three times: the global model with the
 * assignment, the candidate with the evaluation request, and the candidate again with the commit.
 * A bank that keeps what it was sent needs only the candidate: the commit names the candidate it
 * evaluated, and the next assignment the model it was told was committed. At 1M parameters that is
 * 8 MB fewer per bank per round, and at any size two fewer model-sized socket writes per bank.
 *
 * Each kind of frame is encoded at most once per send (full, by reference), whatever the number of
 * banks. The aggregator's record of what a connection holds (BankSession.heldModel) is only ever
 * what it sent on that connection, in order; a bank that finds its copy missing or different
 * declines with `needsModel` (frames.ts), and is sent the weights in full again.
 */
import { encodeFrame } from '@finsecure/common/protocol';
import { weightsSha256 } from '@finsecure/common/model';
import type { BankSession } from './session.js';

/** SHA-256 of weights already hashed: the commit hashes the candidate for the store anyway. */
const hashed = new WeakMap<Float32Array, string>();

/** weightsSha256(weights), once per array (the aggregator never changes a model's array in place). */
export function modelSha256(weights: Float32Array): string {
  let sha = hashed.get(weights);
  if (sha === undefined) {
    sha = weightsSha256(weights);
    hashed.set(weights, sha);
  }
  return sha;
}

/** Records a hash computed elsewhere (the commit's), so modelSha256 does not compute it again. */
export function rememberSha256(weights: Float32Array, sha256: string): void {
  hashed.set(weights, sha256);
}

/**
 * One message with the model `weights` (tensor `global`), for many banks: `full()` carries the
 * weights, `byReference()` carries `modelSha256` instead. Each is encoded on first use.
 */
export class ModelFrames {
  private fullFrame: Uint8Array | null = null;
  private referenceFrame: Uint8Array | null = null;

  constructor(
    private readonly header: Record<string, unknown> & { type: string },
    private readonly weights: Float32Array,
  ) {}

  full(): Uint8Array {
    this.fullFrame ??= encodeFrame(this.header as never, [
      { name: 'global', shape: [this.weights.length], data: this.weights },
    ]);
    return this.fullFrame;
  }

  byReference(): Uint8Array {
    this.referenceFrame ??= encodeFrame({ ...this.header, modelSha256: modelSha256(this.weights) } as never);
    return this.referenceFrame;
  }

  /** The frame `session` gets: by reference if it keeps models and `holds` these weights. */
  frameFor(session: BankSession, holds: boolean): Uint8Array {
    return session.modelByReference && holds ? this.byReference() : this.full();
  }

  /**
   * Sends `frame` (from frameFor) to `session`, which then holds model `version`. Returns the
   * bytes sent.
   */
  send(session: BankSession, frame: Uint8Array, version: number): number {
    const bytes = session.send(frame);
    session.heldModel = version;
    return bytes;
  }

  /** frameFor and send in one, for a caller that does not count the frame before sending it. */
  sendTo(session: BankSession, version: number, holds: boolean): number {
    return this.send(session, this.frameFor(session, holds), version);
  }
}
