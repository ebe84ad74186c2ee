/**
 * The bank's side of a job's secure sums: the five SecAgg+ steps of a pass (common/secagg),
 * as the training workflow's SecureFit runs them, around one summed stage of the job (the
 * histogram or a Lloyd iteration). In the masked step the bank computes its ordinary answer
 * (noised with DP, recorded in its ledger first), lays it out as a fixed-point vector
 * (common/kmeans/secure-layout.ts) and sends it masked: the aggregator learns only the sum.
 *
 * A refusal of the core (a bad signature, a changed key list, too few neighbours) or statistics
 * that do not fit the pass's fixed-point range become a decline naming the reason; the pass
 * goes on without this bank, as in a training round.
 */
import {
  advertisementFromWire,
  advertisementToWire,
  encodeFixedPoint,
  identitiesFromWire,
  incomingFromWire,
  paramsFromWire,
  SecAggBankRound,
  sharesToWire,
  signaturesFromWire,
  toBase64,
  unmaskToWire,
  type FixedPointParams,
  type IdentityKeyPair,
} from '@finsecure/common/secagg';
import { answerVector } from '@finsecure/common/kmeans';
import {
  secaggRoundId,
  type AnalyticsAnswerBody,
  type AnalyticsTask,
  type SecAggAdvertiseKeysRequest,
} from '@finsecure/common/protocol';
import type { PinnedIdentities } from '../secagg/identity.js';
import { outwardFailure } from '../outward.js';

type Reply = { ok: true; answer: AnalyticsAnswerBody } | { ok: false; reason: string; detail?: string };
type SecureTask = Extract<AnalyticsTask, { kind: `secagg_${string}` }>;
type InnerTask = Extract<AnalyticsTask, { kind: 'secagg_masked' }>['inner'];

export function isSecureTask(task: AnalyticsTask): task is SecureTask {
  return task.kind.startsWith('secagg_');
}

export interface SecureSumsDeps {
  bankId: string;
  identity: IdentityKeyPair;
  pinned: PinnedIdentities;
  /** The bank's plain answer to a summed stage (DP noise added and recorded, or a decline). */
  answer(task: InnerTask): Promise<Reply>;
}

export class SecureSums {
  private current: { rid: string; session: string; core: SecAggBankRound; fixedPoint: FixedPointParams } | null = null;

  constructor(private readonly deps: SecureSumsDeps) {}

  /** Answers one step of a pass of job `jobId`; never throws (a refusal is a decline). */
  async answer(jobId: number, task: SecureTask): Promise<Reply> {
    try {
      if (task.kind === 'secagg_advertise') {
        const directory = identitiesFromWire(task);
        this.deps.pinned.check(directory);
        const core = new SecAggBankRound({ bankId: this.deps.bankId, identity: this.deps.identity, directory });
        // The job id plays the round number: the pass's id is "<job>/<session>", bound into every signature.
        const request = { ...task, type: 'secagg_advertise_keys', roundId: jobId, deadlineInMs: 0 };
        const params = paramsFromWire(request as unknown as SecAggAdvertiseKeysRequest);
        const advertisement = advertisementToWire(core.advertiseKeys(params));
        const rid = secaggRoundId(jobId, task.session);
        this.current = { rid, session: task.session, core, fixedPoint: params.fixedPoint };
        return { ok: true, answer: { kind: 'secagg_keys', session: task.session, advertisement } };
      }
      const cur = this.current;
      if (!cur || cur.session !== task.session)
        return { ok: false, reason: `secure sum step ${task.kind} of a pass this bank did not start` };
      switch (task.kind) {
        case 'secagg_share': {
          const res = await cur.core.shareKeys(cur.rid, task.keys.map(advertisementFromWire));
          return { ok: true, answer: { kind: 'secagg_shares', session: cur.session, ...sharesToWire(res) } };
        }
        case 'secagg_masked': {
          const inner = await this.deps.answer(task.inner);
          if (!inner.ok) return inner;
          const a = inner.answer;
          if (a.kind !== 'segment_histogram' && a.kind !== 'segment_lloyd')
            return { ok: false, reason: `no secure sum for a ${a.kind} answer` };
          const { encoded, clipped } = encodeFixedPoint(answerVector(task.inner, a), 1, cur.fixedPoint);
          if (clipped > 0)
            return {
              ok: false,
              reason: `${clipped} of this bank's statistics exceed the secure sum's range ±${cur.fixedPoint.clip}; declined rather than clipped`,
            };
          const masked = cur.core.maskedFit(cur.rid, incomingFromWire(task.shares), encoded);
          return {
            ok: true,
            answer: {
              kind: 'secagg_masked',
              session: cur.session,
              signature: toBase64(masked.signature),
              masked: Array.from(masked.masked),
              ...(a.kind === 'segment_lloyd' && a.privacy ? { privacy: a.privacy } : {}),
              ...(a.kind === 'segment_histogram' ? { noiseMultiplier: a.noiseMultiplier } : {}),
            },
          };
        }
        case 'secagg_consistency': {
          const signature = toBase64(cur.core.signSurvivors(cur.rid, task.survivors));
          return { ok: true, answer: { kind: 'secagg_signed', session: cur.session, signature } };
        }
        case 'secagg_unmask': {
          const res = cur.core.unmask(cur.rid, task.survivors, signaturesFromWire(task.signatures));
          this.current = null;
          return { ok: true, answer: { kind: 'secagg_unmask', session: cur.session, ...unmaskToWire(res) } };
        }
      }
    } catch (err) {
      if (task.kind !== 'secagg_share' && task.kind !== 'secagg_masked') this.current = null;
      return {
        ok: false,
        reason: outwardFailure(`secure sum, ${task.kind}`, err),
        detail: `secure sum, ${task.kind}: ${(err as Error).message}`,
      };
    }
    return { ok: false, reason: `unknown secure sum step ${(task as { kind: string }).kind}` };
  }
}
