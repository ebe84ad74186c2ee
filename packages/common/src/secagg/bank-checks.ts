/**
 * The checks a bank makes before it trusts what the aggregator forwarded (see bank.ts):
 * the key list of stage 2, the distributed-DP quorum of stage 3 and the survivor list of stage 4.
 */
import { bytesEqual } from './encoding.js';
import { compareBankIds, listBanks, SecAggError, type SecAggStage } from './errors.js';
import { keyAdvertisementBytes, verifyStatement, type KeyAdvertisement } from './identity.js';
import type { RoundSetup } from './params.js';

/** Identity public keys of the consortium's banks (bank id → raw Ed25519 key), registered out of band. */
export type IdentityDirectory = ReadonlyMap<string, Uint8Array>;

/**
 * Verifies a stage-2 key list: every entry a neighbour, once, signed by the bank it
 * names under its registered identity key, no public key repeated, this bank's own
 * keys unchanged, and at least t entries. Returns the list by bank id.
 */
export function verifyKeyList(
  me: { bankId: string; directory: IdentityDirectory; cPublicKey: Uint8Array; sPublicKey: Uint8Array },
  roundId: string,
  keys: ReadonlyArray<KeyAdvertisement>,
  setup: RoundSetup,
): Map<string, KeyAdvertisement> {
  const stage = 'share_keys';
  const hood = new Set(setup.graph.get(me.bankId)!);
  const list = new Map<string, KeyAdvertisement>();
  const seenKeys = new Set<string>();
  for (const k of keys) {
    if (!hood.has(k.bankId)) {
      throw new SecAggError(
        'protocol_violation',
        `the key list names ${k.bankId}, which is not a neighbour of ${me.bankId}`,
        {
          stage,
          banks: [k.bankId],
        },
      );
    }
    if (list.has(k.bankId)) {
      throw new SecAggError('protocol_violation', `the key list names ${k.bankId} twice`, {
        stage,
        banks: [k.bankId],
      });
    }
    const identity = me.directory.get(k.bankId);
    const statement = keyAdvertisementBytes(roundId, k.bankId, k.cPublicKey, k.sPublicKey);
    if (!identity || !verifyStatement(identity, statement, k.signature)) {
      throw new SecAggError(
        'bad_signature',
        `${me.bankId} refuses the key list: the key advertisement of ${k.bankId} does not verify under its registered identity key`,
        { stage, banks: [k.bankId] },
      );
    }
    for (const pk of [k.cPublicKey, k.sPublicKey]) {
      const hex = Buffer.from(pk).toString('hex');
      if (seenKeys.has(hex)) {
        throw new SecAggError('protocol_violation', `the key list repeats a public key (at ${k.bankId})`, {
          stage,
          banks: [k.bankId],
        });
      }
      seenKeys.add(hex);
    }
    list.set(k.bankId, k);
  }
  const own = list.get(me.bankId);
  if (!own || !bytesEqual(own.cPublicKey, me.cPublicKey) || !bytesEqual(own.sPublicKey, me.sPublicKey)) {
    throw new SecAggError('inconsistent', `the key list does not carry ${me.bankId}'s own keys`, {
      stage,
      banks: [me.bankId],
    });
  }
  if (list.size < setup.params.threshold) {
    throw new SecAggError(
      'threshold_not_met',
      `${me.bankId}'s key list has ${list.size} banks (itself included), t = ${setup.params.threshold}`,
      { stage, banks: [me.bankId] },
    );
  }
  return list;
}

/**
 * The distributed-DP quorum q a bank is asked to noise for (distributed-dp.ts: it adds
 * N(0, (zC)²/q), and only a sum of at least q such shares carries the (zC)² its ledger records).
 * The aggregator chooses q, so the bank checks it: an integer, 1 ≤ q ≤ the round's participants.
 * A q above the participants could never be met, and is how an aggregator would shrink every
 * bank's noise: with q = 10,000 in a round of 3, each share has σ = zC/100 and even the sum of all
 * three carries multiplier z·√(3/10,000) ≈ 0.017·z, while every ledger records z. That a sum
 * really holds q shares is checked later, against the survivors
 * (checkSurvivors with `dpQuorum`), by every bank before it signs the list and before it unmasks.
 *
 * q need NOT be ≤ t. t bounds what the aggregator can reconstruct (secrecy); q bounds how many noise
 * shares the released sum must hold (privacy). Survivors are checked against both, so a q > t
 * only means a round fails, rather than releasing a sum with too little noise, when fewer than q
 * banks survive; and in a Harary graph t counts one neighbourhood, not the sum, so "q ≤ t" would
 * prove nothing about the sum anyway. The aggregator uses its quorum, which may well exceed t.
 */
export function checkDpQuorum(bankId: string, dpQuorum: number, participants: number, stage: SecAggStage): void {
  const n = participants;
  if (!Number.isInteger(dpQuorum) || dpQuorum < 1 || dpQuorum > n) {
    throw new SecAggError(
      'invalid_params',
      `${bankId} refuses distributed DP with quorum ${dpQuorum}: it must be an integer from 1 to the round's ${n} participants (each bank adds 1/quorum of the noise, so a sum of fewer than quorum banks is under-noised)`,
      { stage, banks: [bankId] },
    );
  }
}

/**
 * A survivor list must be sorted distinct participants, contain this bank and leave it t live
 * neighbours; with `dpQuorum` (the quorum q this bank noised its update for, checkDpQuorum), it
 * must also hold at least q banks: the unmasked sum must carry q noise shares.
 */
export function checkSurvivors(
  bankId: string,
  survivors: ReadonlyArray<string>,
  setup: RoundSetup,
  stage: SecAggStage,
  dpQuorum?: number,
): void {
  const sorted = [...new Set(survivors)].sort(compareBankIds);
  const unknown = survivors.filter((s) => !setup.graph.has(s));
  if (!sameList(sorted, survivors) || unknown.length) {
    throw new SecAggError(
      'protocol_violation',
      `the survivor list must be sorted, distinct participants (unknown: ${listBanks(unknown)})`,
      { stage, banks: unknown },
    );
  }
  if (!survivors.includes(bankId)) {
    throw new SecAggError('inconsistent', `the survivor list leaves out ${bankId}, which sent its masked vector`, {
      stage,
      banks: [bankId],
    });
  }
  const live = setup.graph.get(bankId)!.filter((b) => survivors.includes(b)).length;
  if (live < setup.params.threshold) {
    throw new SecAggError(
      'threshold_not_met',
      `only ${live} of ${bankId}'s neighbours survived (itself included), t = ${setup.params.threshold}`,
      { stage, banks: [bankId] },
    );
  }
  if (dpQuorum !== undefined && survivors.length < dpQuorum) {
    throw new SecAggError(
      'threshold_not_met',
      `${bankId} refuses the survivor list: ${survivors.length} banks survived, but it added distributed DP noise for a quorum of ${dpQuorum}; their sum would carry too little noise`,
      { stage, banks: [bankId] },
    );
  }
}

export function sameList(a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
