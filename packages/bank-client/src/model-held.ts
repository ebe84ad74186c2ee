/**
 * The weights this bank's connection holds, for the aggregator's frames that name a model by
 * reference instead of carrying it (BANK_FEATURES.modelByReference, common/protocol/messages.ts):
 * the last model sent in full, and the candidate of the round being evaluated, which becomes the
 * held model when the aggregator says it was committed. The aggregator's side is
 * aggregator/src/federation/model-frames.ts; both count only what travelled on this connection.
 *
 * A reference is honoured only when the weights hash to the SHA-256 it carries: a bank never
 * trains from, or stores as committed, weights other than the ones the aggregator means.
 */
import { weightsSha256 } from '@finsecure/common/model';

interface Held {
  version: number;
  weights: Float32Array;
  /** Computed on first use: a bank sent every model in full never hashes one. */
  sha256: string | null;
}

export class HeldModels {
  private held: Held | null = null;
  private candidate: (Held & { roundId: number }) | null = null;

  /** A new connection: the aggregator starts over too (it sends the next model in full). */
  reset(): void {
    this.held = null;
    this.candidate = null;
  }

  /** A model `version` sent in full (assignment or commit): held from now on. */
  received(version: number, weights: Float32Array): void {
    this.held = { version, weights, sha256: null };
  }

  /** The candidate of round `roundId` (model `version`), sent for evaluation. */
  evaluating(roundId: number, version: number, weights: Float32Array): void {
    this.candidate = { roundId, version, weights, sha256: null };
  }

  /** The weights of model `version` when this bank holds them and they hash to `sha256`; else null. */
  byReference(version: number, sha256: string): Float32Array | null {
    const held = this.held;
    return held && held.version === version && hashOf(held) === sha256 ? held.weights : null;
  }

  /**
   * Round `roundId`'s candidate was committed as model `version`, named by `sha256`: it becomes
   * the held model and its weights are returned, or null when this bank did not evaluate that
   * candidate or its copy hashes otherwise (the held model then stays as it was).
   */
  committed(roundId: number, version: number, sha256: string): Float32Array | null {
    const c = this.candidate;
    if (!c || c.roundId !== roundId || c.version !== version || hashOf(c) !== sha256) return null;
    this.held = { version, weights: c.weights, sha256: c.sha256 };
    this.candidate = null;
    return c.weights;
  }
}

function hashOf(h: Held): string {
  h.sha256 ??= weightsSha256(h.weights);
  return h.sha256;
}
