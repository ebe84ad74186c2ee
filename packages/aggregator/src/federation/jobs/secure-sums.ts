/**
 * Secure sums for a job (issue 19: the segmentation's statistics "through secure aggregation
 * when it is on"): a JobKind that wraps the segmentation and turns each of its summed stages
 * (the initialisation histogram, every Lloyd iteration) into a SecAgg+ pass of five stages,
 * the same protocol and core as the training workflow's secure rounds (common/secagg):
 *
 *   advertise → share → masked (the bank computes its answer, sends it masked) → consistency → unmask
 *
 * The aggregator holds only the masked running sum; after the unmask it hands the segmentation
 * one pooled answer for the banks in the sum (`SegmentationJob.acceptSum`), which accounts each
 * bank's declared noise as before. Fresh keys and a fresh session per pass: a pass's unmask
 * reveals self-mask seeds and dropped banks' keys, which must never mask another vector.
 * Stages that are not sums (the moments, which set the public scaling) run as they are.
 *
 * A pass that loses too many banks (fewer than t live neighbours) fails the job with the reason,
 * naming the stage; a bank that refuses a step is dropped from the pass like a training bank.
 */
import { randomBytes } from 'node:crypto';
import {
  advertisementFromWire,
  advertisementToWire,
  bytesFieldToWire,
  decodeFixedPointSum,
  fromBase64,
  incomingToWire,
  isSecAggError,
  paramsToWire,
  SecAggAggregatorRound,
  sharesFromWire,
  unmaskFromWire,
  type SecAggParams,
} from '@finsecure/common/secagg';
import { isSummedTask, pooledAnswer, secureFixedPoint, secureVectorLength } from '@finsecure/common/kmeans';
import { secaggRoundId, type AnalyticsAnswerBody, type AnalyticsTask } from '@finsecure/common/protocol';
import { graphFor, thresholdFor } from '../secagg/secure-round.js';
import type { SegmentationJob } from './segmentation.js';
import type { JobKind, JobStep, StageRequest } from './types.js';

const STEPS = ['advertise', 'share', 'masked', 'consistency', 'unmask'] as const;
type SummedTask = Extract<AnalyticsTask, { kind: 'segment_histogram' | 'segment_lloyd' }>;

export interface SecureSumsHost {
  /** The pinned Ed25519 identity keys of these banks (a bank without one cannot take part). */
  identities(banks: readonly string[]): Map<string, Uint8Array>;
  connectedBanks(): string[];
  /** rules.secaggThreshold and rules.secaggDegree (0 = automatic, as for training rounds). */
  threshold: number;
  degree: number;
}

interface Pass {
  stage: StageRequest;
  task: SummedTask;
  session: string;
  rid: string;
  params: SecAggParams;
  core: SecAggAggregatorRound;
  identities: Map<string, Uint8Array>;
  step: number;
  /** Who the next step asks: the banks that answered the step before. */
  live: Set<string>;
  /** What each bank said in the clear with its masked vector (its DP), for the accounting. */
  clear: Map<string, { privacy?: { clip: number; noiseMultiplier: number }; noiseMultiplier?: number }>;
  dropped: Map<string, string>;
}

export class SecureSumsJob implements JobKind {
  private pass: Pass | null = null;
  private failure: string | null = null;

  constructor(
    private readonly inner: SegmentationJob,
    private readonly host: SecureSumsHost,
    private readonly jobId: number,
  ) {}

  get participants(): ReadonlySet<string> | null {
    return this.pass ? this.pass.live : this.inner.participants;
  }

  next(): JobStep {
    if (this.failure) return { type: 'fail', reason: this.failure };
    if (this.pass) return { type: 'stage', stage: this.request(this.pass) };
    const step = this.inner.next();
    if (step.type !== 'stage' || !isSummedTask(step.stage.task)) return step;
    try {
      this.pass = this.open(step.stage, step.stage.task);
    } catch (err) {
      return { type: 'fail', reason: `${step.stage.name}: secure aggregation cannot start: ${(err as Error).message}` };
    }
    return { type: 'stage', stage: this.request(this.pass) };
  }

  /** A new pass over the connected banks still in the job, with fresh keys and session. */
  private open(stage: StageRequest, task: SummedTask): Pass {
    const connected = new Set(this.host.connectedBanks());
    const pool = this.inner.participants ?? connected;
    // A bank takes part only with a pinned identity key (it signs its steps), as in training.
    const known = this.host.identities([...pool].filter((b) => connected.has(b)));
    const banks = [...known.keys()].sort();
    if (banks.length < 2) throw new Error(`it needs at least 2 banks with identity keys, ${banks.length} left`);
    const graph = graphFor(banks.length, this.host.degree);
    const session = randomBytes(16).toString('hex');
    const rid = secaggRoundId(this.jobId, session);
    const params: SecAggParams = {
      roundId: rid,
      participants: banks,
      threshold: thresholdFor(graph, banks.length, this.host.threshold),
      graph,
      vectorLength: secureVectorLength(task),
      fixedPoint: secureFixedPoint(task, this.inner.maxCustomers, banks.length),
    };
    const identities = known;
    const core = new SecAggAggregatorRound(params, identities);
    return {
      stage,
      task,
      session,
      rid,
      params,
      core,
      identities,
      step: 0,
      live: new Set(banks),
      clear: new Map(),
      dropped: new Map(),
    };
  }

  /** The request of the pass's current step (per bank where each bank gets its own part). */
  private request(p: Pass): StageRequest {
    const name = `${p.stage.name} · ${STEPS[p.step]}`;
    const base = { name, timeoutMs: p.stage.timeoutMs };
    const { session } = p;
    switch (STEPS[p.step]) {
      case 'advertise': {
        const w = paramsToWire(p.params, this.jobId, session, 0, p.identities);
        const task: AnalyticsTask = {
          kind: 'secagg_advertise',
          session,
          participants: w.participants,
          threshold: w.threshold,
          graph: w.graph,
          vectorLength: w.vectorLength,
          fixedPoint: w.fixedPoint,
          identities: w.identities,
        };
        return { ...base, task };
      }
      case 'share':
        return {
          ...base,
          task: { kind: 'secagg_share', session, keys: [] },
          taskFor: (b) => ({ kind: 'secagg_share', session, keys: p.core.keyListFor(b).map(advertisementToWire) }),
        };
      case 'masked':
        return {
          ...base,
          task: { kind: 'secagg_masked', session, inner: p.task, shares: [] },
          taskFor: (b) => ({
            kind: 'secagg_masked',
            session,
            inner: p.task,
            shares: incomingToWire(p.core.sharesFor(b)),
          }),
        };
      case 'consistency':
        return { ...base, task: { kind: 'secagg_consistency', session, survivors: p.core.survivors() } };
      default: {
        const survivors = p.core.survivors();
        return {
          ...base,
          task: { kind: 'secagg_unmask', session, survivors, signatures: [] },
          taskFor: (b) => ({
            kind: 'secagg_unmask',
            session,
            survivors,
            signatures: bytesFieldToWire(p.core.signaturesFor(b), 'signature'),
          }),
        };
      }
    }
  }

  accept(bankId: string, a: AnalyticsAnswerBody): string | null {
    const p = this.pass;
    if (!p) return this.inner.accept(bankId, a);
    if (!('session' in a) || a.session !== p.session) return `an answer of another pass (${a.kind})`;
    try {
      switch (STEPS[p.step]) {
        case 'advertise':
          if (a.kind !== 'secagg_keys') return `expected secagg_keys, got ${a.kind}`;
          if (a.advertisement.bankId !== bankId) return `advertisement names ${a.advertisement.bankId}`;
          p.core.receiveKeys(p.rid, advertisementFromWire(a.advertisement));
          return null;
        case 'share':
          if (a.kind !== 'secagg_shares') return `expected secagg_shares, got ${a.kind}`;
          p.core.receiveShares(p.rid, bankId, sharesFromWire(a));
          return null;
        case 'masked':
          if (a.kind !== 'secagg_masked') return `expected secagg_masked, got ${a.kind}`;
          p.core.receiveMaskedUpdate(p.rid, bankId, {
            masked: Uint32Array.from(a.masked),
            signature: fromBase64(a.signature, 'signature'),
          });
          p.clear.set(bankId, {
            ...(a.privacy ? { privacy: a.privacy } : {}),
            ...(a.noiseMultiplier !== undefined ? { noiseMultiplier: a.noiseMultiplier } : {}),
          });
          return null;
        case 'consistency':
          if (a.kind !== 'secagg_signed') return `expected secagg_signed, got ${a.kind}`;
          p.core.receiveSurvivorSignature(p.rid, bankId, fromBase64(a.signature, 'signature'));
          return null;
        default:
          if (a.kind !== 'secagg_unmask') return `expected secagg_unmask, got ${a.kind}`;
          p.core.receiveUnmaskShares(p.rid, bankId, unmaskFromWire(a));
          return null;
      }
    } catch (err) {
      return (err as Error).message.slice(0, 300);
    }
  }

  async close(answered: readonly string[], dropped: ReadonlyMap<string, string>): Promise<void> {
    const p = this.pass;
    if (!p) return this.inner.close(answered, dropped);
    const stepName = `${p.stage.name} · ${STEPS[p.step]}`;
    for (const [b, why] of dropped) if (!p.dropped.has(b)) p.dropped.set(b, `${STEPS[p.step]}: ${why}`);
    try {
      switch (STEPS[p.step]) {
        case 'advertise':
          p.core.closeAdvertiseKeys();
          break;
        case 'share':
          p.core.closeShareKeys();
          break;
        case 'masked':
          p.core.closeMaskedFit();
          break;
        case 'consistency':
          p.core.closeConsistencyCheck();
          break;
        default:
          return await this.finish(p);
      }
    } catch (err) {
      if (!isSecAggError(err)) throw err;
      this.pass = null;
      this.failure = `${stepName}: secure aggregation: ${err.message}`;
      return;
    }
    p.live = new Set(answered);
    p.step++;
  }

  /** The unmask closed: the pooled answer of the banks in the sum goes to the segmentation. */
  private async finish(p: Pass): Promise<void> {
    this.pass = null;
    let result;
    try {
      result = await p.core.finish();
    } catch (err) {
      if (!isSecAggError(err)) throw err;
      this.failure = `${p.stage.name}: secure aggregation: ${err.message}`;
      return;
    }
    const sum = decodeFixedPointSum(result.sum, p.params.fixedPoint);
    const pooled = pooledAnswer(p.task, sum, result.survivors.length);
    const refused = this.inner.acceptSum(result.survivors, pooled, p.clear);
    if (refused) {
      this.failure = `${p.stage.name}: ${refused}`;
      return;
    }
    await this.inner.close(result.survivors, p.dropped);
  }
}
