/**
 * Workflows: the ordered stages of one round. Every round has the same shape (training stages,
 * aggregation into a candidate model, evaluation stages, commit), so a workflow names its
 * training stages and its evaluation stages, each with its timeout. The round machine
 * (machine.ts) runs any of them over the generic Stage; the federation carries out what each
 * stage asks and checks its answers.
 *
 *   fedavg:  fit                                                        | evaluate
 *   secagg:  advertise_keys → share_keys → masked_fit → consistency_check → unmask
 *            | eval_advertise_keys → eval_share_keys → masked_evaluate → eval_consistency_check → eval_unmask
 *            (SecAgg+, Bonawitz et al. 2017; Bell et al. 2020; see common/secagg). The evaluation
 *            is a second secure sum with fresh keys: the confusion counts and score histograms are
 *            integers, summed exactly mod 2^32, so the aggregator learns only the pooled counts.
 *
 * Each stage asks the banks that answered the stage before it; the first evaluation stage asks
 * the evaluators the strategy chose.
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
  /**
   * The stages that evaluate the candidate model. They have no quorum: the round commits with
   * the evaluations that arrived, or without metrics when none could be computed.
   */
  readonly evaluation: readonly StageSpec[];
}

/** Plain rounds: one fit stage (updates in the clear), then one evaluate stage (counts in the clear). */
export function fedavgWorkflow(roundTimeoutMs: number, evaluationTimeoutMs: number): Workflow {
  return {
    name: 'fedavg',
    stages: [{ name: 'fit', timeoutMs: roundTimeoutMs, training: true }],
    evaluation: [{ name: 'evaluate', timeoutMs: evaluationTimeoutMs }],
  };
}

/** The secure evaluation's stage names, in order, with the SecAgg+ step each one runs. */
export const SECURE_EVALUATION_STAGES = [
  'eval_advertise_keys',
  'eval_share_keys',
  'masked_evaluate',
  'eval_consistency_check',
  'eval_unmask',
] as const;

/** Secure aggregation: key stages around the masked fit and the masked evaluation; the key stages are short. */
export function secaggWorkflow(
  roundTimeoutMs: number,
  keyStageTimeoutMs: number,
  evaluationTimeoutMs: number,
): Workflow {
  return {
    name: 'secagg',
    stages: [
      { name: 'advertise_keys', timeoutMs: keyStageTimeoutMs },
      { name: 'share_keys', timeoutMs: keyStageTimeoutMs },
      { name: 'masked_fit', timeoutMs: roundTimeoutMs, training: true },
      { name: 'consistency_check', timeoutMs: keyStageTimeoutMs },
      { name: 'unmask', timeoutMs: keyStageTimeoutMs },
    ],
    evaluation: SECURE_EVALUATION_STAGES.map((name) => ({
      name,
      timeoutMs: name === 'masked_evaluate' ? evaluationTimeoutMs : keyStageTimeoutMs,
    })),
  };
}
