/**
 * A hand-driven secure-aggregation bank for tests: a RawBank (real socket, real protocol) that
 * plays the bank side of the secagg workflow with the pure SecAggBankRound core and sends a small
 * fixed update instead of training, so a round of ten banks runs in well under a second. The test
 * decides at which stage the bank is lost (its socket closes on that stage's request, unanswered)
 * and may send extra frames (replays) before its honest answers. After the fit pass it plays the
 * evaluation pass (fresh keys, its own session) with fixed counts (`evaluationCounts`), so tests
 * can check that the committed metrics are exactly the pooled counts of the banks in that sum.
 */
import {
  advertisementFromWire,
  advertisementToWire,
  encodeEvaluationCounts,
  encodeFixedPoint,
  identitiesFromWire,
  incomingFromWire,
  paramsFromWire,
  SecAggBankRound,
  secureFedAvgInput,
  sharesToWire,
  signaturesFromWire,
  toBase64,
  unmaskToWire,
  type IdentityKeyPair,
  type SecureWeighting,
} from '@finsecure/common/secagg';
import type { Confusion, FederationClientMessage, ScoreHistogram, TensorInput } from '@finsecure/common/protocol';
import { emptyHistogram } from '@finsecure/common/metrics';
import { RawBank, type Received } from './raw-bank.js';

export const SECAGG_STAGES = ['advertise_keys', 'share_keys', 'masked_fit', 'consistency_check', 'unmask'] as const;
export type SecAggStageName = (typeof SECAGG_STAGES)[number];

/** The request that opens each stage at the bank (the evaluation pass: masked_evaluate for masked_fit). */
const REQUEST_OF: Record<SecAggStageName, string> = {
  advertise_keys: 'secagg_advertise_keys',
  share_keys: 'secagg_share_keys',
  masked_fit: 'secagg_masked_fit',
  consistency_check: 'secagg_consistency_check',
  unmask: 'secagg_unmask',
};

/** Test examples every test bank declares at join and evaluates. */
export const TEST_EXAMPLES = 40;

/**
 * Bank `numExamples`'s fixed evaluation (40 test rows): tp = 1 + numExamples mod 7, fn = 2,
 * fp = 3, the rest true negatives; positives and negatives sit in the top bin (predicted fraud)
 * or the bottom bin (predicted legitimate), so the counts agree with the histogram.
 */
export function evaluationCounts(
  numExamples: number,
  bins: number,
): { confusion: Confusion; histogram: ScoreHistogram } {
  const tp = 1 + (numExamples % 7);
  const confusion = { tp, fp: 3, tn: TEST_EXAMPLES - tp - 5, fn: 2 };
  const histogram = emptyHistogram(bins);
  histogram.positives[bins - 1] = confusion.tp;
  histogram.positives[0] = confusion.fn;
  histogram.negatives[bins - 1] = confusion.fp;
  histogram.negatives[0] = confusion.tn;
  return { confusion, histogram };
}

/** Waits for the first received message matching `pred` (removing it), or throws after `timeoutMs`. */
export async function nextMatching(
  raw: RawBank,
  pred: (r: Received) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<Received> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const i = raw.received.findIndex(pred);
    if (i >= 0) return raw.received.splice(i, 1)[0]!;
    if (raw.closed)
      throw new Error(`socket closed (${raw.closed.code} ${raw.closed.reason}) while waiting for ${what}`);
    const left = end - Date.now();
    if (left <= 0)
      throw new Error(`no ${what} within ${timeoutMs} ms (got: ${raw.received.map((r) => r.msg.type).join(', ')})`);
    // Event-driven: wake on the next frame or close (RawBank has pushed it by then).
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        raw.ws.off('message', onMsg);
        raw.ws.off('close', done);
        resolve();
      };
      const onMsg = () => setImmediate(done);
      const t = setTimeout(done, left);
      raw.ws.on('message', onMsg);
      raw.ws.on('close', done);
    });
  }
}

/** What a bank sent in one round, for replays in a later one. */
export interface SentFrames {
  maskedUpdate?: { msg: FederationClientMessage; tensors: TensorInput[] };
  unmaskShares?: FederationClientMessage;
}

export interface PlayOptions {
  /** Close the socket on this stage's request, unanswered. */
  loseAt?: SecAggStageName | null;
  /** Close the socket on this stage's request of the evaluation pass, unanswered. */
  loseAtEvaluation?: SecAggStageName | null;
  /** Stop on this stage's request of the evaluation pass, unanswered, with the socket open. */
  stallAtEvaluation?: SecAggStageName | null;
  /** Stop on this stage's request, unanswered, with the socket open (the stage waits for this bank). */
  stallAt?: SecAggStageName | null;
  /** Sent just before the honest answer of the stage (e.g. a replay of an earlier round's frame). */
  before?: Partial<Record<'masked_fit' | 'unmask', (result: PlayResult) => void>>;
  /** Replaces the honest masked update (e.g. an earlier round's vector relabelled to this round). */
  maskedUpdate?: (honest: { msg: FederationClientMessage; tensors: TensorInput[] }) => {
    msg: FederationClientMessage;
    tensors: TensorInput[];
  };
  /** Replaces the honest unmask shares (e.g. an earlier round's shares relabelled to this round). */
  unmaskShares?: (honest: FederationClientMessage) => FederationClientMessage;
}

export interface PlayResult {
  /** How the round ended for this bank: lost or stalled at a stage, or the round's end message it saw. */
  outcome: 'lost' | 'stalled' | 'failed' | 'finished';
  /** This bank's FedAvg input (weight and unweighted vector of length d + 2), once it sent it. */
  input?: { values: Float64Array; weight: number };
  /** The global model the masked-fit request carried. */
  global?: Float32Array;
  weighting?: SecureWeighting;
  /** The counts this bank masked in the evaluation pass, once it sent them. */
  evaluation?: Confusion;
  sent: SentFrames;
}

export class SecAggTestBank {
  raw!: RawBank;
  /** The highest round id this bank has played: requests of rounds ≤ it are leftovers. */
  private lastRound = -1;

  constructor(
    readonly url: string,
    readonly bankId: string,
    readonly token: string,
    readonly identity: IdentityKeyPair,
    readonly numExamples: number,
    /** The bank's update: coordinate j of a model of `d` weights. */
    readonly delta: (j: number) => number,
  ) {}

  async connect(): Promise<this> {
    this.raw = await RawBank.join(
      this.url,
      this.bankId,
      this.token,
      this.numExamples,
      30,
      toBase64(this.identity.publicKey),
      TEST_EXAMPLES,
    );
    return this;
  }

  get lost(): boolean {
    return this.raw.closed !== null;
  }

  /**
   * Plays the next secure round from its advertise-keys request to the round's end (committed:
   * after the unmask answer; failed: the round_failed message). Returns the round id and result.
   */
  async play(opts: PlayOptions = {}): Promise<{ roundId: number; result: PlayResult }> {
    const raw = this.raw;
    const adv = await nextMatching(
      raw,
      (r) => r.msg.type === 'secagg_advertise_keys' && r.msg.roundId > this.lastRound,
      `${this.bankId}: secagg_advertise_keys`,
    );
    if (adv.msg.type !== 'secagg_advertise_keys') throw new Error('unreachable');
    const roundId = adv.msg.roundId;
    this.lastRound = roundId;
    const result: PlayResult = { outcome: 'finished', sent: {} };
    const common = { roundId, session: adv.msg.session };
    const rid = `${roundId}/${adv.msg.session}`;
    const lose = (stage: SecAggStageName) => {
      if (opts.stallAt === stage) {
        result.outcome = 'stalled';
        return true;
      }
      if (opts.loseAt !== stage) return false;
      raw.close();
      result.outcome = 'lost';
      return true;
    };
    /** The request of `stage` in this round, or null once the round ended without asking it. */
    const request = async (stage: SecAggStageName) => {
      const r = await nextMatching(
        raw,
        (x) =>
          (x.msg.type === REQUEST_OF[stage] || x.msg.type === 'round_failed' || x.msg.type === 'round_committed') &&
          (x.msg as { roundId: number }).roundId === roundId,
        `${this.bankId}: ${REQUEST_OF[stage]} of round ${roundId}`,
      );
      // The round ended without this bank (it failed, or went on after dropping this bank).
      if (r.msg.type === 'round_failed' || r.msg.type === 'round_committed') {
        result.outcome = r.msg.type === 'round_failed' ? 'failed' : 'finished';
        return null;
      }
      return r;
    };
    if (lose('advertise_keys')) return { roundId, result };
    const core = new SecAggBankRound({
      bankId: this.bankId,
      identity: this.identity,
      directory: identitiesFromWire(adv.msg),
    });
    const params = paramsFromWire(adv.msg);
    raw.send({ type: 'secagg_keys', ...common, advertisement: advertisementToWire(core.advertiseKeys(params)) });

    const share = await request('share_keys');
    if (!share || share.msg.type !== 'secagg_share_keys' || lose('share_keys')) return { roundId, result };
    const shares = await core.shareKeys(rid, share.msg.keys.map(advertisementFromWire));
    raw.send({ type: 'secagg_shares', ...common, ...sharesToWire(shares) });

    const fit = await request('masked_fit');
    if (!fit || fit.msg.type !== 'secagg_masked_fit' || lose('masked_fit')) return { roundId, result };
    const global = fit.tensors.get('global')!.data;
    const delta = Float32Array.from({ length: global.length }, (_, j) => this.delta(j));
    const counts = { numExamples: this.numExamples, numTrained: this.numExamples, loss: 0.25 };
    const input = secureFedAvgInput(delta, counts, fit.msg.config, fit.msg.weighting);
    const { encoded } = encodeFixedPoint(input.values, input.weight, params.fixedPoint);
    const masked = core.maskedFit(rid, incomingFromWire(fit.msg.shares), encoded);
    let update = {
      msg: {
        type: 'secagg_masked_update' as const,
        ...common,
        modelVersion: fit.msg.modelVersion,
        signature: toBase64(masked.signature),
        loss: counts.loss,
        timings: { trainMs: 1, prepareMs: 0 },
      } as FederationClientMessage,
      tensors: [{ name: 'masked', shape: [masked.masked.length], data: masked.masked }] as TensorInput[],
    };
    result.sent.maskedUpdate = update;
    if (opts.maskedUpdate) update = opts.maskedUpdate(update);
    else result.input = { values: input.values, weight: input.weight };
    result.global = Float32Array.from(global);
    result.weighting = fit.msg.weighting;
    opts.before?.masked_fit?.(result);
    raw.send(update.msg, update.tensors);

    const check = await request('consistency_check');
    if (!check || check.msg.type !== 'secagg_consistency_check' || lose('consistency_check'))
      return { roundId, result };
    raw.send({
      type: 'secagg_survivors_signed',
      ...common,
      signature: toBase64(core.signSurvivors(rid, check.msg.survivors)),
    });

    const unmask = await request('unmask');
    if (!unmask || unmask.msg.type !== 'secagg_unmask' || lose('unmask')) return { roundId, result };
    const reveal = core.unmask(rid, unmask.msg.survivors, signaturesFromWire(unmask.msg.signatures));
    const sharesMsg: FederationClientMessage = { type: 'secagg_unmask_shares', ...common, ...unmaskToWire(reveal) };
    result.sent.unmaskShares = sharesMsg;
    opts.before?.unmask?.(result);
    raw.send(opts.unmaskShares ? opts.unmaskShares(sharesMsg) : sharesMsg);
    await this.playEvaluation(roundId, adv.msg.session, opts, result);
    return { roundId, result };
  }

  /** The evaluation pass of round `roundId` (a new session), until the round ends or this bank is lost. */
  private async playEvaluation(roundId: number, fitSession: string, opts: PlayOptions, result: PlayResult) {
    const raw = this.raw;
    const adv = await nextMatching(
      raw,
      (x) =>
        ((x.msg.type === 'secagg_advertise_keys' && x.msg.session !== fitSession) ||
          x.msg.type === 'round_failed' ||
          x.msg.type === 'round_committed') &&
        (x.msg as { roundId: number }).roundId === roundId,
      `${this.bankId}: evaluation pass of round ${roundId}`,
    );
    if (adv.msg.type !== 'secagg_advertise_keys') {
      // The round ended without an evaluation pass (or without this bank): put the message back.
      raw.received.unshift(adv);
      return;
    }
    const session = adv.msg.session;
    const common = { roundId, session };
    const rid = `${roundId}/${session}`;
    const lose = (stage: SecAggStageName) => {
      if (opts.stallAtEvaluation === stage) {
        result.outcome = 'stalled';
        return true;
      }
      if (opts.loseAtEvaluation !== stage) return false;
      raw.close();
      result.outcome = 'lost';
      return true;
    };
    const request = async (type: string) => {
      const r = await nextMatching(
        raw,
        (x) =>
          ((x.msg.type === type && (x.msg as { session?: string }).session === session) ||
            x.msg.type === 'round_failed' ||
            x.msg.type === 'round_committed') &&
          (x.msg as { roundId: number }).roundId === roundId,
        `${this.bankId}: ${type} of round ${roundId} (evaluation)`,
      );
      if (r.msg.type === 'round_failed' || r.msg.type === 'round_committed') {
        raw.received.unshift(r);
        return null;
      }
      return r;
    };
    if (lose('advertise_keys')) return;
    const core = new SecAggBankRound({
      bankId: this.bankId,
      identity: this.identity,
      directory: identitiesFromWire(adv.msg),
    });
    raw.send({
      type: 'secagg_keys',
      ...common,
      advertisement: advertisementToWire(core.advertiseKeys(paramsFromWire(adv.msg))),
    });
    const share = await request('secagg_share_keys');
    if (!share || share.msg.type !== 'secagg_share_keys' || lose('share_keys')) return;
    raw.send({
      type: 'secagg_shares',
      ...common,
      ...sharesToWire(await core.shareKeys(rid, share.msg.keys.map(advertisementFromWire))),
    });
    const ev = await request('secagg_masked_evaluate');
    if (!ev || ev.msg.type !== 'secagg_masked_evaluate' || lose('masked_fit')) return;
    const { confusion, histogram } = evaluationCounts(this.numExamples, ev.msg.histogramBins);
    const masked = core.maskedFit(rid, incomingFromWire(ev.msg.shares), encodeEvaluationCounts(confusion, histogram));
    result.evaluation = confusion;
    raw.send(
      {
        type: 'secagg_masked_evaluation',
        ...common,
        modelVersion: ev.msg.modelVersion,
        signature: toBase64(masked.signature),
        numExamples: TEST_EXAMPLES,
        loss: 0.1,
        evalMs: 1,
      },
      [{ name: 'masked', shape: [masked.masked.length], data: masked.masked }],
    );
    const check = await request('secagg_consistency_check');
    if (!check || check.msg.type !== 'secagg_consistency_check' || lose('consistency_check')) return;
    raw.send({
      type: 'secagg_survivors_signed',
      ...common,
      signature: toBase64(core.signSurvivors(rid, check.msg.survivors)),
    });
    const unmask = await request('secagg_unmask');
    if (!unmask || unmask.msg.type !== 'secagg_unmask' || lose('unmask')) return;
    const reveal = core.unmask(rid, unmask.msg.survivors, signaturesFromWire(unmask.msg.signatures));
    raw.send({ type: 'secagg_unmask_shares', ...common, ...unmaskToWire(reveal) });
  }
}

/**
 * The FedAvg step the aggregator must take from these inputs (common/secagg/fedavg.ts, plain
 * float64 maths), and a strict bound on how far the fixed-point sum may move each coordinate:
 * each of the d + 2 coordinates of the decoded sum S is within E = n · 2^−f of the exact
 * Σ wᵢ·vᵢ (fixed-point.ts), and step_j = S[d+1]·stepScale·S_j / S[d]², so to first order
 * |Δstep_j| ≤ stepScale·E·(|S_j| + |S[d+1]|)/S[d]² + 2·stepScale·E·|S[d+1]·S_j|/S[d]³ (doubled
 * here for the second-order terms, which are ~E/S[d] times smaller).
 */
export function expectedStep(
  inputs: ReadonlyArray<{ values: Float64Array; weight: number }>,
  stepScale: number,
  fractionalBits: number,
): { step: Float64Array; bound: Float64Array } {
  const len = inputs[0]!.values.length;
  const d = len - 2;
  const s = new Float64Array(len);
  for (const { values, weight } of inputs) for (let j = 0; j < len; j++) s[j]! += weight * values[j]!;
  const e = inputs.length * 2 ** -fractionalBits;
  const step = new Float64Array(d);
  const bound = new Float64Array(d);
  const total = s[d]!;
  const steps = s[d + 1]!;
  for (let j = 0; j < d; j++) {
    step[j] = (steps * stepScale * s[j]!) / total ** 2;
    bound[j] =
      2 *
      stepScale *
      ((e * (Math.abs(s[j]!) + Math.abs(steps))) / total ** 2 + (2 * e * Math.abs(steps * s[j]!)) / total ** 3);
  }
  return { step, bound };
}
