/**
 * The aggregator side of one SecAgg+ round as a pure state object. The transport (part
 * 1's stages) calls `receive*` for each answer, `close*` when a stage ends (all
 * answered, quorum + grace, or deadline), and `*For(bank)` to build what it sends next.
 *
 * It keeps O(vector length) for the running masked sum plus O(banks × neighbourhood)
 * small items (keys, 94-byte envelopes, 33-byte shares), never one vector per bank.
 *
 * Which bank may answer in which stage, the stage reports and the dropout rule (when a
 * round fails for lack of live neighbours) are aggregator-stages.ts.
 */
import { RoundStages, type StageReport } from './aggregator-stages.js';
import { compareBankIds, listBanks, SecAggError, type SecAggStage } from './errors.js';
import {
  keyAdvertisementBytes,
  maskedUpdateBytes,
  survivorListBytes,
  verifyStatement,
  type KeyAdvertisement,
} from './identity.js';
import { MaskedSum, unmaskSum, type Unmasking } from './masking.js';
import { setupRound, type RoundSetup, type SecAggParams } from './params.js';
import { recoverUnmasking } from './reconstruct.js';
import { SHARE_BYTES, SHARE_CIPHERTEXT_BYTES } from './shares.js';
import { bytesEqual } from './encoding.js';
import type { IdentityDirectory } from './bank-checks.js';
import {
  shareDigest,
  type IncomingShare,
  type ShareDigests,
  type MaskedUpdate,
  type ShareKeysResponse,
  type SurvivorSignature,
  type UnmaskResponse,
} from './messages.js';

export type { StageReport } from './aggregator-stages.js';

export interface SecAggResult {
  /** Σ of the survivors' encoded vectors mod 2^32 (decode with decodeFixedPointSum). */
  sum: Uint32Array;
  /** U3: the banks whose vectors are in the sum. */
  survivors: string[];
  /** Every stage, who was asked, who answered, who dropped. */
  stages: StageReport[];
}

export class SecAggAggregatorRound {
  readonly setup: RoundSetup;
  private readonly directory: IdentityDirectory;
  /** Who may answer the current stage, who did, the reports and the failure. */
  private readonly stages: RoundStages;
  /** U2: banks that shared keys (their secrets matter from masked fit on). */
  private u2: Set<string> | null = null;
  private readonly adverts = new Map<string, KeyAdvertisement>();
  private readonly commitments = new Map<string, Uint8Array>();
  /** The dealers' share digests, by `${dealer}\n${holder}`: each revealed share is checked against them. */
  private readonly shareDigests = new Map<string, ShareDigests>();
  /** Envelopes by recipient. */
  private readonly envelopes = new Map<string, IncomingShare[]>();
  private readonly masked: MaskedSum;
  private survivorList: string[] | null = null;
  private readonly signatures = new Map<string, Uint8Array>();
  /** Revealed shares by owner, each checked against the digest its owner dealt it with. */
  private readonly seedShares = new Map<string, Uint8Array[]>();
  private readonly keyShares = new Map<string, Uint8Array[]>();
  /**
   * The share each bank revealed of its own seed or key: it was never in an envelope, so no
   * digest covers it, and reconstruct.ts uses it only when the checked shares fall short of t.
   */
  private readonly ownSeedShares = new Map<string, Uint8Array>();
  private readonly ownKeyShares = new Map<string, Uint8Array>();

  /**
   * `opts.dpQuorum`: the distributed-DP quorum q the round's masked fit asks the banks to noise
   * for; the banks sign it with the survivor list (survivorListBytes), so the signatures are
   * checked against it.
   */
  constructor(
    params: SecAggParams,
    directory: IdentityDirectory,
    private readonly opts: { dpQuorum?: number } = {},
  ) {
    this.setup = setupRound(params);
    this.directory = directory;
    this.stages = new RoundStages(this.setup);
    this.masked = new MaskedSum(params.vectorLength);
    const unknown = this.setup.participants.filter((b) => !directory.has(b));
    if (unknown.length) {
      throw new SecAggError('invalid_params', `no registered identity key for ${listBanks(unknown)}`, {
        banks: unknown,
      });
    }
  }

  get roundId(): string {
    return this.setup.params.roundId;
  }

  /** The stage now collecting answers, or 'done' / 'failed'. */
  get stage(): SecAggStage | 'done' | 'failed' {
    return this.stages.stage;
  }

  /** The reason the round failed, if it did. */
  get failed(): SecAggError | null {
    return this.stages.failed;
  }

  /** Who is asked in the current stage (sorted). */
  banksToAsk(): string[] {
    return this.stages.banksToAsk();
  }

  // ------------------------------------------------------------ stage 1: advertise keys

  receiveKeys(roundId: string, advert: KeyAdvertisement): void {
    const bank = this.stages.accept(roundId, 'advertise_keys', advert.bankId);
    const statement = keyAdvertisementBytes(roundId, bank, advert.cPublicKey, advert.sPublicKey);
    if (!verifyStatement(this.directory.get(bank)!, statement, advert.signature)) {
      throw this.stages.reject('bad_signature', `${bank}'s key advertisement does not verify`, bank);
    }
    this.adverts.set(bank, advert);
    this.stages.answer(bank);
  }

  closeAdvertiseKeys(): StageReport {
    return this.stages.close('advertise_keys', this.u2);
  }

  /** The signed keys of `bank`'s live neighbours (itself included), to forward in stage 2. */
  keyListFor(bank: string): KeyAdvertisement[] {
    this.stages.expectStage('share_keys', 'keyListFor');
    return this.hood(bank)
      .filter((b) => this.adverts.has(b))
      .map((b) => this.adverts.get(b)!);
  }

  // ------------------------------------------------------------ stage 2: share keys

  receiveShares(roundId: string, bank: string, msg: ShareKeysResponse): void {
    this.stages.accept(roundId, 'share_keys', bank);
    const expected = this.keyListFor(bank)
      .filter((k) => k.bankId !== bank)
      .map((k) => k.bankId);
    const got = msg.shares.map((s) => s.to).sort(compareBankIds);
    if (got.length !== expected.length || got.some((b, i) => b !== expected[i])) {
      throw this.stages.reject(
        'protocol_violation',
        `${bank} must send one envelope to each of ${listBanks(expected)}`,
        bank,
      );
    }
    if (
      msg.shares.some(
        (s) =>
          s.ciphertext.length !== SHARE_CIPHERTEXT_BYTES ||
          s.seedShareHash.length !== 32 ||
          s.keyShareHash.length !== 32,
      ) ||
      msg.seedCommitment.length !== 32
    ) {
      throw this.stages.reject('protocol_violation', `${bank} sent a malformed envelope or commitment`, bank);
    }
    for (const { to, ciphertext, seedShareHash, keyShareHash } of msg.shares) {
      const list = this.envelopes.get(to) ?? [];
      list.push({ from: bank, ciphertext, seedShareHash, keyShareHash });
      this.envelopes.set(to, list);
      this.shareDigests.set(`${bank}\n${to}`, { seedShareHash, keyShareHash });
    }
    this.commitments.set(bank, msg.seedCommitment);
    this.stages.answer(bank);
  }

  closeShareKeys(): StageReport {
    const report = this.stages.close('share_keys', this.u2);
    this.u2 = new Set(report.answered);
    return report;
  }

  /** The envelopes addressed to `bank` by banks that shared keys, to forward in stage 3. */
  sharesFor(bank: string): IncomingShare[] {
    this.stages.expectStage('masked_fit', 'sharesFor');
    return (this.envelopes.get(bank) ?? []).filter((e) => this.u2!.has(e.from));
  }

  // ------------------------------------------------------------ stage 3: masked fit

  receiveMaskedUpdate(roundId: string, bank: string, update: MaskedUpdate): void {
    this.stages.accept(roundId, 'masked_fit', bank);
    if (
      !verifyStatement(this.directory.get(bank)!, maskedUpdateBytes(roundId, bank, update.masked), update.signature)
    ) {
      throw this.stages.reject(
        'bad_signature',
        `${bank}'s masked update signature does not verify (replayed or altered)`,
        bank,
      );
    }
    this.masked.add(bank, update.masked);
    this.stages.answer(bank);
  }

  closeMaskedFit(): StageReport {
    const report = this.stages.close('masked_fit', this.u2);
    // Free the envelopes: they are never needed again.
    this.envelopes.clear();
    this.survivorList = report.answered;
    return report;
  }

  /** U3, sorted: announced to every survivor in the consistency check. */
  survivors(): string[] {
    if (!this.survivorList)
      throw this.stages.reject('out_of_order', 'survivors are known only after masked fit closes');
    return [...this.survivorList];
  }

  // ------------------------------------------------------------ stage 4: consistency check

  receiveSurvivorSignature(roundId: string, bank: string, signature: Uint8Array): void {
    this.stages.accept(roundId, 'consistency_check', bank);
    const statement = survivorListBytes(roundId, this.survivors(), this.opts.dpQuorum);
    if (!verifyStatement(this.directory.get(bank)!, statement, signature)) {
      throw this.stages.reject('bad_signature', `${bank}'s signature over the survivor list does not verify`, bank);
    }
    this.signatures.set(bank, signature);
    this.stages.answer(bank);
  }

  closeConsistencyCheck(): StageReport {
    return this.stages.close('consistency_check', this.u2);
  }

  /** The survivor-list signatures of `bank`'s neighbours, to forward with the unmask request. */
  signaturesFor(bank: string): SurvivorSignature[] {
    this.stages.expectStage('unmask', 'signaturesFor');
    return this.hood(bank)
      .filter((b) => this.signatures.has(b))
      .map((b) => ({ bankId: b, signature: this.signatures.get(b)! }));
  }

  // ------------------------------------------------------------ stage 5: unmask

  receiveUnmaskShares(roundId: string, bank: string, res: UnmaskResponse): void {
    this.stages.accept(roundId, 'unmask', bank);
    const hood = new Set(this.hood(bank));
    const alive = new Set(this.survivors());
    const seen = new Set<string>();
    const check = (of: string, share: Uint8Array, wantAlive: boolean): void => {
      if (seen.has(of)) {
        throw this.stages.reject(
          'protocol_violation',
          `${bank} sent two shares for ${of}: never both seed and key share`,
          bank,
        );
      }
      seen.add(of);
      if (!hood.has(of) || !this.u2!.has(of) || alive.has(of) !== wantAlive || share.length !== SHARE_BYTES) {
        const what = wantAlive ? 'a seed share' : 'a key share';
        throw this.stages.reject('protocol_violation', `${bank} sent ${what} for ${of}, which it may not`, bank);
      }
      // The holder's share of its own secret was in no envelope and no digest covers it: it is kept
      // apart and used only if too few checked shares arrive (see reconstruct.ts), so a corrupt one
      // cannot sink a round that has t checked shares.
      if (of === bank) return;
      const digests = this.shareDigests.get(`${of}\n${bank}`);
      const kind = wantAlive ? 'seed' : 'key';
      const want = wantAlive ? digests?.seedShareHash : digests?.keyShareHash;
      if (!want || !bytesEqual(shareDigest(this.roundId, kind, of, bank, share), want)) {
        throw this.stages.reject(
          'corrupt_share',
          `${bank}'s ${kind} share of ${of} does not match what ${of} committed to at share keys (replayed or altered)`,
          bank,
        );
      }
    };
    for (const { of, share } of res.seedShares) check(of, share, true);
    for (const { of, share } of res.keyShares) check(of, share, false);
    for (const { of, share } of res.seedShares) {
      if (of === bank) this.ownSeedShares.set(of, share);
      else push(this.seedShares, of, share);
    }
    for (const { of, share } of res.keyShares) {
      if (of === bank) this.ownKeyShares.set(of, share);
      else push(this.keyShares, of, share);
    }
    this.stages.answer(bank);
  }

  /**
   * Closes the unmask stage, reconstructs the survivors' seeds and the dropped banks'
   * keys (checking each against its commitment or advertised public key), removes the
   * masks and returns the sum.
   */
  async finish(): Promise<SecAggResult> {
    this.stages.close('unmask', this.u2);
    const survivors = this.survivors();
    let unmasking: Unmasking;
    try {
      unmasking = await recoverUnmasking({
        roundId: this.roundId,
        threshold: this.setup.params.threshold,
        graph: this.setup.graph,
        survivors,
        dropped: [...this.u2!].filter((b) => !survivors.includes(b)).sort(compareBankIds),
        adverts: this.adverts,
        commitments: this.commitments,
        seedShares: this.seedShares,
        keyShares: this.keyShares,
        ownSeedShares: this.ownSeedShares,
        ownKeyShares: this.ownKeyShares,
      });
    } catch (err) {
      if (err instanceof SecAggError) this.stages.failWith(err);
      throw err;
    } finally {
      this.seedShares.clear();
      this.keyShares.clear();
      this.ownSeedShares.clear();
      this.ownKeyShares.clear();
    }
    const sum = unmaskSum(this.masked.sum, survivors, unmasking);
    return { sum, survivors, stages: this.stages.stageReports() };
  }

  /** Stage reports so far (also after a failure). */
  stageReports(): StageReport[] {
    return this.stages.stageReports();
  }

  // ------------------------------------------------------------ bookkeeping

  private hood(bank: string): ReadonlyArray<string> {
    const h = this.setup.graph.get(bank);
    if (!h) throw this.stages.reject('protocol_violation', `${bank} is not a participant`, bank);
    return h;
  }
}

function push(map: Map<string, Uint8Array[]>, key: string, value: Uint8Array): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
