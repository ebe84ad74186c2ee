/**
 * The bank's side of the secagg workflow: answers each of the five requests with the SecAgg+
 * core (common/secagg), trains in the masked-fit stage like a plain fit, weights and encodes its
 * own update (common/secagg/fedavg.ts) and sends it masked. The evaluation pass runs the same
 * steps with fresh keys and a new session; its third step evaluates the candidate model and
 * sends the confusion counts and score histogram masked (common/secagg/evaluation.ts). Whatever the core refuses (a bad
 * signature, a changed key or survivor list, too few neighbours) is answered with
 * `secagg_refused`, naming the stage and the banks, and logged: the round goes on without us.
 *
 * Differential privacy in the masked-fit stage, with the stricter of the bank's own DP settings
 * and the request's (as a plain fit):
 * - distributed DP (the request's `weighting.dpQuorum` is set): the bank clips its raw update to C,
 *   weights it and adds only its share of the noise, N(0, (zC)²/q) (common/secagg/distributed-dp.ts),
 *   and records one Gaussian release with multiplier z in its own ledger before sending;
 * - otherwise, the bank's own local DP if it has one: clip and the full N(0, (zC)²), as before.
 * A release that would take the bank past its ε budget is refused ("privacy budget … would be
 * exceeded"), which the aggregator reads as this bank being spent.
 *
 * What the bank does not take from the aggregator on trust:
 * - who the other banks are: with a roster (`secaggRoster`, roster.ts) every participant must be on
 *   it with exactly its key; without one, keys are pinned on first use (identity.ts), which does
 *   not stop invented banks;
 * - the distributed-DP quorum q: at most the round's participants, and the bank signs and unmasks
 *   only a survivor list of at least q banks (common/secagg/bank-checks.ts checkDpQuorum,
 *   checkSurvivors): any fewer and the released sum would carry less noise than its ledger records.
 */
import type { LocalModel, RoundDp } from '../local-model.js';
import type { Logger } from 'pino';
import type {
  FederationClientMessage,
  SecAggMaskedUpdate,
  SecAggServerMessage,
  TensorInput,
} from '@finsecure/common/protocol';
import type { FitOutput } from '../round-work.js';
import {
  advertisementFromWire,
  advertisementToWire,
  checkDpQuorum,
  distributedDpClipIssue,
  distributedDpInput,
  encodeEvaluationCounts,
  encodeFixedPoint,
  identitiesFromWire,
  incomingFromWire,
  isSecAggError,
  paramsFromWire,
  SecAggBankRound,
  secureFedAvgInput,
  sharesToWire,
  signaturesFromWire,
  toBase64,
  unmaskToWire,
  type DistributedDpParams,
  type FixedPointParams,
  type IdentityKeyPair,
} from '@finsecure/common/secagg';
import type { DpParams } from '@finsecure/common/protocol';
import type { Rng } from '@finsecure/common/rng';
import { emptyHistogram } from '@finsecure/common/metrics';
import { PinnedIdentities } from './identity.js';
import type { SecAggRoster } from './roster.js';
import { outwardFailure } from '../outward.js';
import type { LocalPrivacyLedger } from '../privacy.js';

/** A release the bank's own ε budget does not allow (the reason names the budget and what is spent). */
class PrivacyBudgetExceeded extends Error {
  readonly code = 'privacy_budget';
}

/**
 * A refusal about the round's request itself (a tensor missing, a clip that cannot carry the noise),
 * whose message names no local state: sent to the aggregator as it is, as SecAggError's are.
 */
class RoundRefusal extends Error {}

export interface SecureFitDeps {
  bankId: string;
  identity: IdentityKeyPair;
  pinned: PinnedIdentities;
  logger: Logger;
  /**
   * The bank's model and data (local-model.ts): `fit` trains from `global` as a plain round does
   * (with `dp`, clips the delta and adds the full N(0, (zC)²) noise, local DP; with null, returns
   * the raw delta); `evaluate` scores a candidate on the test split (null: no test rows);
   * `effectiveDp` is the DP for a request's config (null: none).
   */
  model: Pick<LocalModel, 'fit' | 'evaluate' | 'effectiveDp'>;
  /** The banks this bank agrees to sum with, and their identity keys (`secaggRoster`); null: trust on first use. */
  roster: SecAggRoster | null;
  /** The bank's privacy ledger and its DP noise generator. */
  privacy: { ledger: LocalPrivacyLedger; noiseRng: Rng };
  send(msg: FederationClientMessage, tensors?: TensorInput[]): void;
  /**
   * Offers the masked update (`update_offer`) and sends it once the aggregator grants the upload
   * (client.ts, update-upload.ts); `out` is the training result it was computed from.
   */
  offerUpdate(msg: SecAggMaskedUpdate, tensors: TensorInput[], out: FitOutput): void;
}

interface Current {
  roundId: number;
  session: string;
  core: SecAggBankRound;
  fixedPoint: FixedPointParams;
  /** How many banks the round names: the largest distributed-DP quorum the bank accepts. */
  participants: number;
}

export class SecureFit {
  private current: Current | null = null;

  constructor(private readonly deps: SecureFitDeps) {}

  /** Handles one secagg request; never throws (refusals are sent, errors logged). */
  async handle(msg: SecAggServerMessage, tensors: ReadonlyMap<string, { data: Float32Array }>): Promise<void> {
    const base = { roundId: msg.roundId, session: msg.session };
    try {
      if (msg.type === 'secagg_advertise_keys') {
        const directory = identitiesFromWire(msg);
        const params = paramsFromWire(msg);
        // Every participant and key on the roster, if the bank has one; else the pinned keys (TOFU).
        this.deps.pinned.check(directory, {
          participants: params.participants,
          roster: this.deps.roster,
        });
        const core = new SecAggBankRound({ bankId: this.deps.bankId, identity: this.deps.identity, directory });
        const advertisement = core.advertiseKeys(params);
        this.current = { ...base, core, fixedPoint: params.fixedPoint, participants: params.participants.length };
        this.deps.send({ type: 'secagg_keys', ...base, advertisement: advertisementToWire(advertisement) });
        return;
      }
      const cur = this.current;
      if (!cur || cur.roundId !== msg.roundId || cur.session !== msg.session) {
        this.deps.logger.warn(
          { roundId: msg.roundId, type: msg.type },
          'secure-aggregation request for a round this bank did not start; ignored',
        );
        return;
      }
      const rid = `${msg.roundId}/${msg.session}`;
      switch (msg.type) {
        case 'secagg_share_keys': {
          const res = await cur.core.shareKeys(rid, msg.keys.map(advertisementFromWire));
          this.deps.send({ type: 'secagg_shares', ...base, ...sharesToWire(res) });
          return;
        }
        case 'secagg_masked_fit': {
          const global = tensors.get('global')?.data;
          if (!global) throw new RoundRefusal('masked-fit request without a "global" tensor');
          const { ledger, noiseRng } = this.deps.privacy;
          // Before training and before any release: a quorum the round can never reach is refused.
          if (msg.weighting.dpQuorum !== undefined)
            checkDpQuorum(this.deps.bankId, msg.weighting.dpQuorum, cur.participants, 'masked_fit');
          const dp = this.privacyFor(msg.config.dp, msg.weighting.dpQuorum, cur.fixedPoint);
          // Local DP noises inside training and is recorded before it, as a plain fit does.
          if (dp && !dp.distributed) ledger.record(dp.noiseMultiplier);
          const out = await this.deps.model.fit(
            msg.roundId,
            global,
            msg.config,
            msg.scaler,
            dp?.distributed ? null : dp,
          );
          let encodedUpdate: ReturnType<typeof encodeFixedPoint>;
          let weight: number;
          let dpClipped: boolean | undefined;
          if (dp?.distributed) {
            const input = distributedDpInput(out.delta, out, msg.config, msg.weighting, dp.distributed, noiseRng);
            // The weight is already applied (the noise share must not be scaled by it).
            encodedUpdate = encodeFixedPoint(input.values, 1, cur.fixedPoint);
            weight = input.weight;
            dpClipped = input.wasClipped;
          } else {
            const input = secureFedAvgInput(out.delta, out, msg.config, msg.weighting);
            encodedUpdate = encodeFixedPoint(input.values, input.weight, cur.fixedPoint);
            weight = input.weight;
          }
          const { encoded, clipped } = encodedUpdate;
          // With a noise share for quorum q, the core signs and unmasks only survivor lists of ≥ q banks.
          const masked = cur.core.maskedFit(
            rid,
            incomingFromWire(msg.shares),
            encoded,
            dp?.distributed ? { dpQuorum: dp.distributed.quorum } : {},
          );
          // The noise share leaves the bank with the next frame: spend the budget first.
          if (dp?.distributed) ledger.record(dp.noiseMultiplier);
          // Offered, then sent when the aggregator grants the upload (the pull protocol of a plain update).
          this.deps.offerUpdate(
            {
              type: 'secagg_masked_update',
              ...base,
              modelVersion: msg.modelVersion,
              signature: toBase64(masked.signature),
              loss: out.loss,
              timings: { trainMs: out.trainMs, prepareMs: out.prepareMs },
            },
            [{ name: 'masked', shape: [masked.masked.length], data: masked.masked }],
            out,
          );
          this.deps.logger.info(
            {
              roundId: msg.roundId,
              loss: Number(out.loss.toFixed(5)),
              weight: Number(weight.toFixed(4)),
              clipped,
              ...(dp
                ? {
                    dp: dp.distributed ? 'distributed' : 'local',
                    epsilon: Number(ledger.epsilon(dp.delta).toFixed(4)),
                    ...(dpClipped !== undefined ? { dpClipped } : {}),
                  }
                : {}),
            },
            'masked update offered',
          );
          return;
        }
        case 'secagg_masked_evaluate': {
          const global = tensors.get('global')?.data;
          if (!global) throw new RoundRefusal('masked-evaluate request without a "global" tensor');
          // No test rows: the bank still masks a vector of zeros, so that its pairwise masks, which
          // its neighbours already added, cancel and the pass goes on.
          const out = this.deps.model.evaluate(
            msg.roundId,
            msg.modelVersion,
            global,
            msg.threshold,
            msg.histogramBins,
            msg.scaler,
          ) ?? {
            confusion: { tp: 0, fp: 0, tn: 0, fn: 0 },
            histogram: emptyHistogram(msg.histogramBins),
            loss: 0,
            numExamples: 0,
            evalMs: 0,
          };
          const encoded = encodeEvaluationCounts(out.confusion, out.histogram);
          const masked = cur.core.maskedFit(rid, incomingFromWire(msg.shares), encoded);
          this.deps.send(
            {
              type: 'secagg_masked_evaluation',
              ...base,
              modelVersion: msg.modelVersion,
              signature: toBase64(masked.signature),
              numExamples: out.numExamples,
              loss: out.loss,
              evalMs: out.evalMs,
            },
            [{ name: 'masked', shape: [masked.masked.length], data: masked.masked }],
          );
          this.deps.logger.info({ roundId: msg.roundId, numExamples: out.numExamples }, 'masked evaluation sent');
          return;
        }
        case 'secagg_consistency_check': {
          const signature = cur.core.signSurvivors(rid, msg.survivors);
          this.deps.send({ type: 'secagg_survivors_signed', ...base, signature: toBase64(signature) });
          return;
        }
        case 'secagg_unmask': {
          const res = cur.core.unmask(rid, msg.survivors, signaturesFromWire(msg.signatures));
          this.deps.send({ type: 'secagg_unmask_shares', ...base, ...unmaskToWire(res) });
          this.current = null;
          return;
        }
      }
    } catch (err) {
      const stage = STAGE_OF[msg.type];
      const message = (err as Error).message.slice(0, 2000);
      const code = isSecAggError(err) || err instanceof PrivacyBudgetExceeded ? err.code : 'bank_error';
      const banks = isSecAggError(err) ? [...err.banks].slice(0, 255) : [];
      // The protocol's own errors (about the round: banks, keys, survivors), the budget and the
      // round refusals go out as they are; any other error is the bank's own (a disk, a file, a
      // bug), whose message can hold paths or data: only its kind leaves the bank (outward.ts).
      const aboutRound = isSecAggError(err) || err instanceof PrivacyBudgetExceeded || err instanceof RoundRefusal;
      const reason = aboutRound ? message : outwardFailure(stage, err);
      this.deps.logger.error(
        { roundId: msg.roundId, stage, code, banks },
        `refusing a secure-aggregation step: ${message}`,
      );
      this.deps.send({ type: 'secagg_refused', ...base, stage, code, reason, banks });
      if (stage === 'advertise_keys' || isSecAggError(err)) this.current = null;
    }
  }

  /**
   * The DP of a masked fit, after checking the bank may release it: throws PrivacyBudgetExceeded
   * past the budget, and an Error naming secaggClip when the fixed-point clip cannot carry this
   * bank's noise share (its own noise multiplier may be larger than the aggregator planned for).
   */
  private privacyFor(
    requested: DpParams | undefined,
    dpQuorum: number | undefined,
    fixedPoint: FixedPointParams,
  ): (RoundDp & { distributed: DistributedDpParams | null }) | null {
    const { ledger } = this.deps.privacy;
    const dp = this.deps.model.effectiveDp(requested);
    if (!dp) return null;
    if (dp.epsilonBudget !== undefined && ledger.wouldExceed(dp.noiseMultiplier, dp.delta, dp.epsilonBudget))
      throw new PrivacyBudgetExceeded(
        `privacy budget ε=${dp.epsilonBudget} would be exceeded (spent ${ledger.epsilon(dp.delta).toFixed(3)})`,
      );
    if (dpQuorum === undefined || !requested) return { ...dp, distributed: null };
    const distributed = { clip: dp.clip, noiseMultiplier: dp.noiseMultiplier, quorum: dpQuorum };
    const issue = distributedDpClipIssue(fixedPoint.clip, distributed);
    if (issue) throw new RoundRefusal(`bank ${this.deps.bankId}: ${issue}`);
    return { ...dp, distributed };
  }
}

const STAGE_OF = {
  secagg_advertise_keys: 'advertise_keys',
  secagg_share_keys: 'share_keys',
  secagg_masked_fit: 'masked_fit',
  secagg_masked_evaluate: 'masked_evaluate',
  secagg_consistency_check: 'consistency_check',
  secagg_unmask: 'unmask',
} as const;
