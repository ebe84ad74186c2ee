/**
 * The bank side of one SecAgg+ round as a pure state object: each method takes what
 * the aggregator forwarded, checks it, and returns what the bank sends back. No
 * sockets, no timers; all randomness through the injected RandomSource.
 *
 * What a bank refuses, and why (Bonawitz et al. 2017, §4 and §6, active adversary):
 * - a key list with an advertisement whose signature does not verify under the
 *   registered identity key of the bank it names (a swapped public key would let the
 *   aggregator decrypt that bank's shares), or whose own entry is not its own keys;
 * - a second, different key list or survivor list in the same round (the aggregator
 *   would otherwise learn two views' worth of shares);
 * - share envelopes that do not decrypt (other round, other banks, tampered);
 * - an unmask request whose survivor list is not the one it signed, or that is not
 *   backed by t valid signatures of its neighbours over that same list (two banks given
 *   different survivor lists: each sees signatures over a different list and refuses);
 * - a second unmask request: a bank reveals shares once per round, and for each bank
 *   either the self-mask seed share or the key share, never both.
 */
import { checkDpQuorum, checkSurvivors, sameList, verifyKeyList, type IdentityDirectory } from './bank-checks.js';
import { openSharePair, sealSharePair, type EnvelopeEnds } from './bank-envelopes.js';
import { bytesEqual, canonicalBytes, sha256 } from './encoding.js';
import { compareBankIds, listBanks, SecAggError, type SecAggStage } from './errors.js';
import {
  keyAdvertisementBytes,
  maskedUpdateBytes,
  signStatement,
  survivorListBytes,
  verifyStatement,
  type IdentityKeyPair,
  type KeyAdvertisement,
} from './identity.js';
import { deriveSharedKey, generateX25519KeyPair, type X25519KeyPair } from './keys.js';
import { maskVector } from './masking.js';
import {
  seedCommitment,
  type IncomingShare,
  type MaskedUpdate,
  type ShareKeysResponse,
  type SurvivorSignature,
  type UnmaskResponse,
} from './messages.js';
import { setupRound, type RoundSetup, type SecAggParams } from './params.js';
import { cryptoRandomSource, randomBytes, type RandomSource } from './random.js';
import { splitSecret, type SharePair } from './shares.js';

export { checkDpQuorum, type IdentityDirectory } from './bank-checks.js';
// The stage messages used to be declared here; wire.ts, reconstruct.ts and the package's
// index still import them from this module.
export {
  seedCommitment,
  shareDigest,
  type IncomingShare,
  type MaskedUpdate,
  type ShareDigests,
  type ShareKeysResponse,
  type SurvivorSignature,
  type UnmaskResponse,
} from './messages.js';

type BankStage = 'new' | SecAggStage | 'done';

export class SecAggBankRound {
  readonly bankId: string;
  private readonly identity: IdentityKeyPair;
  private readonly directory: IdentityDirectory;
  private readonly random: RandomSource;
  private setup: RoundSetup | null = null;
  private stage: BankStage = 'new';
  private cKeys: X25519KeyPair | null = null;
  private sKeys: X25519KeyPair | null = null;
  private keyList: Map<string, KeyAdvertisement> | null = null;
  private keyListDigest: Uint8Array | null = null;
  private selfSeed: Uint8Array | null = null;
  private ownShares: SharePair | null = null;
  /** Shares held after masked fit, by owner (this bank included): U2 as this bank sees it. */
  private held: Map<string, SharePair> | null = null;
  private signedSurvivors: string[] | null = null;
  /** The distributed-DP quorum this bank noised its masked vector for (maskedFit), if any. */
  private dpQuorum: number | undefined;

  constructor(opts: {
    bankId: string;
    identity: IdentityKeyPair;
    directory: IdentityDirectory;
    random?: RandomSource;
  }) {
    this.bankId = opts.bankId;
    this.identity = opts.identity;
    this.directory = opts.directory;
    this.random = opts.random ?? cryptoRandomSource;
  }

  /** Stage 1: checks the round parameters, makes the `c` and `s` key pairs and signs them. */
  advertiseKeys(params: SecAggParams): KeyAdvertisement {
    this.enter('new', 'advertise_keys');
    const setup = setupRound(params);
    if (!setup.graph.has(this.bankId)) {
      throw new SecAggError('protocol_violation', `${this.bankId} is not a participant of round ${params.roundId}`, {
        stage: 'advertise_keys',
        banks: [this.bankId],
      });
    }
    this.setup = setup;
    this.cKeys = generateX25519KeyPair(this.random);
    this.sKeys = generateX25519KeyPair(this.random);
    const statement = keyAdvertisementBytes(params.roundId, this.bankId, this.cKeys.publicKey, this.sKeys.publicKey);
    return {
      bankId: this.bankId,
      cPublicKey: this.cKeys.publicKey,
      sPublicKey: this.sKeys.publicKey,
      signature: signStatement(this.identity.privateKey, statement),
    };
  }

  /**
   * Stage 2: verifies the neighbours' signed keys, makes the self-mask seed, Shamir-splits
   * the seed and the `s` private key among the key list (threshold t) and encrypts each
   * neighbour's pair under the pairwise `c` key.
   */
  async shareKeys(roundId: string, keys: ReadonlyArray<KeyAdvertisement>): Promise<ShareKeysResponse> {
    const stage = 'share_keys';
    const setup = this.checkRound(roundId, stage);
    const digest = sha256(...keys.flatMap((k) => [canonicalBytes('entry', [k.bankId, k.cPublicKey, k.sPublicKey])]));
    if (this.keyListDigest) {
      const changed = !bytesEqual(digest, this.keyListDigest);
      throw new SecAggError(
        changed ? 'inconsistent' : 'out_of_order',
        changed
          ? `${this.bankId} refuses a second, different key list in round ${roundId}`
          : `${this.bankId} already shared its keys in round ${roundId}`,
        { stage, banks: [this.bankId] },
      );
    }
    this.keyListDigest = digest;
    this.enter('advertise_keys', stage);
    const list = verifyKeyList(
      {
        bankId: this.bankId,
        directory: this.directory,
        cPublicKey: this.cKeys!.publicKey,
        sPublicKey: this.sKeys!.publicKey,
      },
      roundId,
      keys,
      setup,
    );
    this.keyList = list;
    const t = setup.params.threshold;
    const holders = [...list.keys()].sort(compareBankIds);
    this.selfSeed = randomBytes(this.random, 32);
    const [seedShares, keyShares] = await Promise.all([
      splitSecret(this.selfSeed, holders, t),
      splitSecret(this.sKeys!.privateKey, holders, t),
    ]);
    const shares: ShareKeysResponse['shares'] = [];
    for (const to of holders) {
      const pair = { seedShare: seedShares.get(to)!, keyShare: keyShares.get(to)! };
      if (to === this.bankId) {
        this.ownShares = pair;
        continue;
      }
      shares.push(sealSharePair(this.envelopeEnds(roundId, to), pair, this.random));
    }
    return { seedCommitment: seedCommitment(roundId, this.bankId, this.selfSeed), shares };
  }

  /**
   * Stage 3: opens the neighbours' share envelopes, then masks the bank's fixed-point
   * vector `encoded` (see fixed-point.ts) with its self mask and one pairwise mask per
   * neighbour it holds shares from, and signs the result. `opts.dpQuorum`: the vector carries
   * distributed-DP noise for this quorum (distributed-dp.ts); it must not exceed the
   * participants (checkDpQuorum), and the bank will sign and unmask only a survivor list of at
   * least that many banks.
   */
  maskedFit(
    roundId: string,
    incoming: ReadonlyArray<IncomingShare>,
    encoded: Uint32Array,
    opts: { dpQuorum?: number } = {},
  ): MaskedUpdate {
    const stage = 'masked_fit';
    const setup = this.checkRound(roundId, stage);
    if (opts.dpQuorum !== undefined) checkDpQuorum(this.bankId, opts.dpQuorum, setup.params.participants.length, stage);
    this.enter('share_keys', stage);
    this.dpQuorum = opts.dpQuorum;
    if (encoded.length !== setup.params.vectorLength) {
      throw new SecAggError(
        'protocol_violation',
        `${this.bankId}'s vector has ${encoded.length} values, the round expects ${setup.params.vectorLength}`,
        { stage, banks: [this.bankId] },
      );
    }
    const list = this.keyList!;
    const held = new Map<string, SharePair>([[this.bankId, this.ownShares!]]);
    for (const share of incoming) {
      const { from } = share;
      if (!list.has(from) || from === this.bankId) {
        throw new SecAggError(
          'protocol_violation',
          `${this.bankId} got shares from ${from}, which is not in its key list`,
          {
            stage,
            banks: [from],
          },
        );
      }
      if (held.has(from)) {
        throw new SecAggError('protocol_violation', `${this.bankId} got shares from ${from} twice`, {
          stage,
          banks: [from],
        });
      }
      held.set(from, openSharePair(this.envelopeEnds(roundId, from), share, stage));
    }
    const t = setup.params.threshold;
    if (held.size < t) {
      throw new SecAggError(
        'threshold_not_met',
        `${this.bankId} holds shares of only ${held.size} banks (itself included), t = ${t}`,
        { stage, banks: [this.bankId] },
      );
    }
    this.held = held;
    const pairwise = [...held.keys()]
      .filter((peer) => peer !== this.bankId)
      .map((peer) => ({
        peer,
        seed: deriveSharedKey(this.sKeys!.privateKey, list.get(peer)!.sPublicKey, {
          purpose: 'pairwise-mask',
          roundId,
          self: this.bankId,
          peer,
        }),
      }));
    const masked = maskVector(encoded, this.bankId, this.selfSeed!, pairwise);
    return {
      masked,
      signature: signStatement(this.identity.privateKey, maskedUpdateBytes(roundId, this.bankId, masked)),
    };
  }

  /**
   * Stage 4 (consistency check): signs the survivor list U3 the aggregator announced. The
   * list must be sorted, distinct, contain this bank and leave it t live neighbours, and hold at
   * least the distributed-DP quorum this bank noised for (maskedFit `dpQuorum`), if any.
   */
  signSurvivors(roundId: string, survivors: ReadonlyArray<string>): Uint8Array {
    const stage = 'consistency_check';
    const setup = this.checkRound(roundId, stage);
    if (this.signedSurvivors) {
      if (!sameList(this.signedSurvivors, survivors)) {
        throw new SecAggError(
          'inconsistent',
          `${this.bankId} refuses a second, different survivor list in round ${roundId}`,
          {
            stage,
            banks: [this.bankId],
          },
        );
      }
    } else {
      this.enter('masked_fit', stage);
      checkSurvivors(this.bankId, survivors, setup, stage, this.dpQuorum);
      this.signedSurvivors = [...survivors];
    }
    return signStatement(this.identity.privateKey, survivorListBytes(roundId, survivors, this.dpQuorum));
  }

  /**
   * Stage 5: after checking that the survivor list is the one it signed and that t of
   * its neighbours signed the same list, reveals, for each bank it holds shares of, the
   * seed share if that bank survived and the key share if it dropped. Once per round.
   */
  unmask(
    roundId: string,
    survivors: ReadonlyArray<string>,
    signatures: ReadonlyArray<SurvivorSignature>,
  ): UnmaskResponse {
    const stage = 'unmask';
    const setup = this.checkRound(roundId, stage);
    if (this.stage === 'done') {
      throw new SecAggError('out_of_order', `${this.bankId} already revealed its shares in round ${roundId}`, {
        stage,
        banks: [this.bankId],
      });
    }
    if (!this.signedSurvivors || !sameList(this.signedSurvivors, survivors)) {
      throw new SecAggError(
        'inconsistent',
        `${this.bankId} refuses to unmask: the survivor list differs from the one it signed in the consistency check`,
        { stage, banks: [this.bankId] },
      );
    }
    // Signed lists were checked when signed; checked again, so that no path reveals shares of a sum
    // with fewer noise shares than this bank's distributed-DP quorum.
    checkSurvivors(this.bankId, survivors, setup, stage, this.dpQuorum);
    const hood = new Set(setup.graph.get(this.bankId)!);
    // With this bank's q in it: a neighbour told another quorum signed other bytes (identity.ts).
    const statement = survivorListBytes(roundId, survivors, this.dpQuorum);
    const valid = new Set<string>();
    const invalid: string[] = [];
    for (const { bankId, signature } of signatures) {
      if (!hood.has(bankId) || valid.has(bankId)) continue;
      const key = this.directory.get(bankId);
      if (key && verifyStatement(key, statement, signature)) valid.add(bankId);
      else invalid.push(bankId);
    }
    if (invalid.length) {
      throw new SecAggError(
        'inconsistent',
        `${this.bankId} refuses to unmask: the survivor-list signatures of ${listBanks(invalid)} do not verify (they were shown a different list, or the signatures were altered)`,
        { stage, banks: invalid },
      );
    }
    const t = setup.params.threshold;
    if (valid.size < t) {
      throw new SecAggError(
        'threshold_not_met',
        `${this.bankId} refuses to unmask: only ${valid.size} neighbours signed the survivor list, t = ${t}`,
        { stage, banks: [this.bankId] },
      );
    }
    // Distributed DP: a survivor told a larger q than the survivors (so it added too little noise)
    // refuses to sign (checkSurvivors), but its masked input is in the sum; revealing its seed
    // share would release that under-noised sum. So every survivor whose seed this bank would
    // reveal must have signed the list with this bank's q. The price: a bank that drops after
    // its masked update and before signing fails a DP round instead of being carried.
    const alive = new Set(survivors);
    if (this.dpQuorum !== undefined) {
      const unsigned = [...this.held!.keys()].filter((b) => b !== this.bankId && alive.has(b) && !valid.has(b));
      if (unsigned.length) {
        throw new SecAggError(
          'inconsistent',
          `${this.bankId} refuses to unmask: ${listBanks(unsigned)} survived the masked fit but did not sign the survivor list with the distributed-DP quorum ${this.dpQuorum}, so the sum may carry less noise than this bank counts on`,
          { stage, banks: unsigned },
        );
      }
    }
    this.enter('consistency_check', 'done');
    const response: UnmaskResponse = { seedShares: [], keyShares: [] };
    for (const [of, pair] of [...this.held!].sort(([a], [b]) => compareBankIds(a, b))) {
      if (alive.has(of)) response.seedShares.push({ of, share: pair.seedShare });
      else response.keyShares.push({ of, share: pair.keyShare });
    }
    // Forget the shares: nothing more may be revealed in this round.
    this.held = null;
    return response;
  }

  /** This bank's end of the share envelope it exchanges with `peer`, a bank of its verified key list. */
  private envelopeEnds(roundId: string, peer: string): EnvelopeEnds {
    return {
      roundId,
      self: this.bankId,
      cPrivateKey: this.cKeys!.privateKey,
      peer,
      peerCPublicKey: this.keyList!.get(peer)!.cPublicKey,
    };
  }

  private checkRound(roundId: string, stage: SecAggStage): RoundSetup {
    if (!this.setup) {
      throw new SecAggError('out_of_order', `${this.bankId} got a ${stage} message before advertising keys`, {
        stage,
        banks: [this.bankId],
      });
    }
    if (roundId !== this.setup.params.roundId) {
      throw new SecAggError(
        'wrong_round',
        `${this.bankId} rejects a ${stage} message for round ${roundId} during round ${this.setup.params.roundId} (replayed or cross-round)`,
        { stage, banks: [this.bankId] },
      );
    }
    return this.setup;
  }

  private enter(from: BankStage, to: BankStage): void {
    if (this.stage !== from) {
      throw new SecAggError('out_of_order', `${this.bankId} cannot go to ${to} from ${this.stage}`, {
        ...(to !== 'new' && to !== 'done' ? { stage: to } : {}),
        banks: [this.bankId],
      });
    }
    this.stage = to;
  }
}
