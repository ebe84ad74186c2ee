/**
 * Workflows: the ordered stages of one round. Every round ends the same way (aggregate the
 * training stages' result into a candidate model, evaluate it, commit), so a workflow names only
 * its training stages, each with its timeout. The round machine (machine.ts) runs any of them
 * over the generic Stage; the federation carries out what each stage asks and checks its answers.
 *
 *   fedavg:  fit
 *   secagg:  advertise_keys → share_keys → masked_fit → consistency_check → unmask
 *            (SecAgg+, Bonawitz et al. 2017; Bell et al. 2020; see common/secagg)
 *
 * Each stage asks the banks that answered the stage before it.
 */

export interface StageSpec {
  /** The stage's name: "fit", "share_keys", ... (also what failure reasons and views say). */
  name: string;
  /** How long the stage waits (ms) before it closes with whoever answered. */
  timeoutMs: number;
  /**
   * True for the stage that carries the training itself: its quorum counts, and the banks that
   * did not answer it are the ones "missing" from the round.
   */
  training?: boolean;
}

export interface Workflow {
  readonly name: 'fedavg' | 'secagg';
  readonly stages: readonly StageSpec[];
}

/** Plain rounds: one fit stage (updates in the clear), then evaluate. */
export function fedavgWorkflow(roundTimeoutMs: number): Workflow {
  return { name: 'fedavg', stages: [{ name: 'fit', timeoutMs: roundTimeoutMs, training: true }] };
}

/** Secure aggregation: key stages around the masked fit; the key stages are short. */
export function secaggWorkflow(roundTimeoutMs: number, keyStageTimeoutMs: number): Workflow {
  return {
    name: 'secagg',
    stages: [
      { name: 'advertise_keys', timeoutMs: keyStageTimeoutMs },
      { name: 'share_keys', timeoutMs: keyStageTimeoutMs },
      { name: 'masked_fit', timeoutMs: roundTimeoutMs, training: true },
      { name: 'consistency_check', timeoutMs: keyStageTimeoutMs },
      { name: 'unmask', timeoutMs: keyStageTimeoutMs },
    ],
  };
}
