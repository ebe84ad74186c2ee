/**
 * The evaluate stage of the fedavg workflow: send the candidate model to the evaluators, check
 * each evaluation's counts, and keep the valid ones for the global metrics of the commit.
 */
import { encodeFrame, type EvaluationResult } from '@finsecure/common/protocol';
import { auprcFromHistogram, checkEvaluation, packHistogram, precisionRecallF1 } from '@finsecure/common/metrics';
import * as machine from '../round/machine.js';
import { auditRepeated, bankRound, type ActiveRound, type Core } from './core.js';
import type { BankSession } from './session.js';
import { apply, countDown, lose } from './runner.js';
import { reasonCode } from './update-checks.js';
import { publishProgress } from './views.js';

/** Asks the evaluators to evaluate the candidate model (one frame, encoded once). */
export function requestEvaluations(core: Core, round: ActiveRound, bankIds: string[], deadline: number): void {
  const weights = round.candidate!;
  const frame = encodeFrame(
    {
      type: 'evaluation_request',
      roundId: round.state.roundId,
      modelVersion: core.globalVersion + 1,
      deadlineInMs: Math.max(0, deadline - core.opts.clock.now()),
      threshold: round.evaluation.threshold,
      histogramBins: round.evaluation.bins,
      scaler: core.scaler!,
    },
    [{ name: 'global', shape: [weights.length], data: weights }],
  );
  core.sessions.sendTo(bankIds, frame, (bankId, n) => countDown(core, round, bankId, n));
}

/** One evaluation from a bank (on the serial queue). A refused one is answered, and its bank leaves the stage. */
export async function onEvaluation(
  core: Core,
  session: BankSession,
  msg: EvaluationResult,
  size: number,
  /** When the frame arrived (before it waited on the queue). */
  receivedAt: number = core.opts.clock.now(),
): Promise<void> {
  const round = core.active;
  // Answered, and audited under the bank's name as refused updates are (coalesced per kind and
  // round, so a bank repeating itself cannot flood the log).
  const reject = async (reason: string, key: string) => {
    session.reply(encodeFrame({ type: 'ack', roundId: msg.roundId, of: 'evaluation', accepted: false, reason }));
    await auditRepeated(core, {
      type: 'evaluation.rejected',
      actor: session.bankId,
      reason,
      key: `${key} round ${msg.roundId}`,
      details: { roundId: msg.roundId },
    });
  };
  if (!round) return reject(`late: no round is running (evaluation for round ${msg.roundId})`, 'late');
  const verdict = machine.judgeEvaluation(round.state, session.bankId, msg.roundId);
  if (!verdict.accepted) return reject(verdict.reason, reasonCode(verdict.reason));
  // The counts must agree with each other, with the histogram and with the test examples the
  // bank declared at join (common/metrics/consistency.ts): forged metrics are refused and audited.
  const check = checkEvaluation(msg, {
    declaredTestExamples: session.hello.numTestExamples,
    expectedThreshold: round.evaluation.threshold,
    expectedBins: round.evaluation.bins,
  });
  const refusal = !check.ok ? check.reason : msg.loss > 1e6 ? `loss ${msg.loss} is out of range` : null;
  if (refusal) {
    await reject(refusal, 'content');
    // Out of the stage, as a refused update is out of training: the evaluation stage has no
    // quorum, so waiting on a bank that sent a refused evaluation held the round to its deadline
    // (60 s by default); a bank does not send a second one.
    await lose(core, session.bankId, `evaluation rejected: ${refusal}`);
    return;
  }
  // It holds the candidate now: a commit of it need not send the weights again (model-frames.ts).
  session.evaluatedRound = msg.roundId;
  const stats = bankRound(core, session.bankId);
  stats.bytesUp += size;
  const prf = precisionRecallF1(msg.confusion);
  // Kept until the commit: its counts outside the JavaScript heap, which the garbage collector
  // would otherwise scan and copy for every bank (160 MB at 10,000 banks; issue 14). Read packed
  // here too, so that the curves' loops see one kind of array (common/metrics/histogram.ts).
  const histogram = packHistogram(msg.histogram);
  stats.metrics = { ...prf, auprc: auprcFromHistogram(histogram), loss: msg.loss, numExamples: msg.numExamples };
  round.record.banks[session.bankId] = stats;
  round.reports.push({
    bankId: session.bankId,
    numExamples: msg.numExamples,
    confusion: msg.confusion,
    histogram,
    loss: msg.loss,
  });
  // Accepted: not acknowledged (only refusals are; see fit-stage.ts onUpdate).
  await apply(core, machine.evaluationAccepted(round.state, session.bankId, receivedAt, core.opts.clock.now()));
  publishProgress(core);
}
