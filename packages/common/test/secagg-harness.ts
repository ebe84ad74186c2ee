/**
 * In-process simulation of one SecAgg+ round: n real SecAggBankRound objects and one
 * SecAggAggregatorRound, real crypto, messages moved by plain function calls. Hooks let
 * a test drop banks at any stage or play a tampering aggregator.
 */
import {
  SECAGG_STAGES,
  SecAggAggregatorRound,
  SecAggBankRound,
  SecAggError,
  encodeFixedPoint,
  generateIdentityKeyPair,
  seededRandomSource,
  sha256,
  type FixedPointParams,
  type GraphSpec,
  type IdentityKeyPair,
  type IncomingShare,
  type KeyAdvertisement,
  type SecAggParams,
  type SecAggResult,
  type SecAggStage,
  type SurvivorSignature,
} from '../src/secagg/index.js';

export const bankName = (i: number): string => `bank-${String(i).padStart(2, '0')}`;

export function seedFor(label: string): Uint8Array {
  return sha256(new TextEncoder().encode(label));
}

export interface Consortium {
  ids: string[];
  identities: Map<string, IdentityKeyPair>;
  directory: Map<string, Uint8Array>;
}

export function consortium(n: number): Consortium {
  const ids = Array.from({ length: n }, (_, i) => bankName(i));
  const identities = new Map(ids.map((id) => [id, generateIdentityKeyPair(seededRandomSource(seedFor(`id/${id}`)))]));
  const directory = new Map([...identities].map(([id, k]) => [id, k.publicKey]));
  return { ids, identities, directory };
}

export interface RoundOptions {
  c: Consortium;
  roundId?: string;
  threshold: number;
  graph?: GraphSpec;
  fixedPoint: FixedPointParams;
  /** One float update per bank (same length). */
  updates: Float32Array[];
  weights?: number[];
  /** Banks that stop answering from this stage on. */
  dropAt?: Partial<Record<SecAggStage, string[]>>;
  /** A tampering aggregator: rewrite what is forwarded to one bank. */
  tamperKeyList?: (bank: string, list: KeyAdvertisement[]) => KeyAdvertisement[];
  tamperShares?: (bank: string, shares: IncomingShare[]) => IncomingShare[];
  tamperSurvivors?: (bank: string, survivors: string[]) => string[];
  tamperSignatures?: (bank: string, sigs: SurvivorSignature[]) => SurvivorSignature[];
  /** Stop after closing this stage (the test drives the rest by hand). */
  stopAfter?: SecAggStage;
}

export interface RoundOutcome {
  result: SecAggResult | null;
  /** The aggregator's failure, if any. */
  failure: SecAggError | null;
  /** Banks that refused a message, with the reason. */
  refusals: Map<string, SecAggError>;
  aggregator: SecAggAggregatorRound;
  banks: Map<string, SecAggBankRound>;
  /** The encoded (fixed-point, unmasked) vector of each bank. */
  encoded: Map<string, Uint32Array>;
  /** Every masked vector the aggregator received. */
  maskedSeen: Map<string, Uint32Array>;
}

export async function runRound(o: RoundOptions): Promise<RoundOutcome> {
  const roundId = o.roundId ?? 'r1/0001';
  const { c } = o;
  const params: SecAggParams = {
    roundId,
    participants: c.ids,
    threshold: o.threshold,
    graph: o.graph ?? { kind: 'complete' },
    vectorLength: o.updates[0]!.length,
    fixedPoint: o.fixedPoint,
  };
  const agg = new SecAggAggregatorRound(params, c.directory);
  const banks = new Map(
    c.ids.map((id) => [
      id,
      new SecAggBankRound({
        bankId: id,
        identity: c.identities.get(id)!,
        directory: c.directory,
        random: seededRandomSource(seedFor(`rand/${roundId}/${id}`)),
      }),
    ]),
  );
  const refusals = new Map<string, SecAggError>();
  const encoded = new Map<string, Uint32Array>();
  const maskedSeen = new Map<string, Uint32Array>();
  const gone = new Set<string>();
  const out = (failure: SecAggError | null, result: SecAggResult | null): RoundOutcome => ({
    result,
    failure,
    refusals,
    aggregator: agg,
    banks,
    encoded,
    maskedSeen,
  });

  /** Runs `work` for every bank still asked and not dropped; a refusal is a dropout. */
  const stage = async (name: SecAggStage, work: (bank: string) => Promise<void> | void): Promise<void> => {
    for (const b of o.dropAt?.[name] ?? []) gone.add(b);
    for (const bank of agg.banksToAsk()) {
      if (gone.has(bank)) continue;
      try {
        await work(bank);
      } catch (err) {
        if (!(err instanceof SecAggError)) throw err;
        refusals.set(bank, err);
        gone.add(bank);
      }
    }
  };
  const idx = (b: string): number => c.ids.indexOf(b);

  try {
    await stage('advertise_keys', (b) => agg.receiveKeys(roundId, banks.get(b)!.advertiseKeys(params)));
    agg.closeAdvertiseKeys();
    await stage('share_keys', async (b) => {
      let list = agg.keyListFor(b);
      if (o.tamperKeyList) list = o.tamperKeyList(b, list);
      agg.receiveShares(roundId, b, await banks.get(b)!.shareKeys(roundId, list));
    });
    agg.closeShareKeys();
    if (o.stopAfter === 'share_keys') return out(null, null);
    await stage('masked_fit', (b) => {
      let shares = agg.sharesFor(b);
      if (o.tamperShares) shares = o.tamperShares(b, shares);
      const weight = o.weights?.[idx(b)] ?? 1;
      const rnd = seededRandomSource(seedFor(`sr/${roundId}/${b}`));
      const { encoded: v } = encodeFixedPoint(o.updates[idx(b)]!, weight, o.fixedPoint, rnd);
      encoded.set(b, v);
      const update = banks.get(b)!.maskedFit(roundId, shares, v);
      maskedSeen.set(b, update.masked);
      agg.receiveMaskedUpdate(roundId, b, update);
    });
    agg.closeMaskedFit();
    if (o.stopAfter === 'masked_fit') return out(null, null);
    await stage('consistency_check', (b) => {
      let survivors = agg.survivors();
      if (o.tamperSurvivors) survivors = o.tamperSurvivors(b, survivors);
      agg.receiveSurvivorSignature(roundId, b, banks.get(b)!.signSurvivors(roundId, survivors));
    });
    agg.closeConsistencyCheck();
    if (o.stopAfter === 'consistency_check') return out(null, null);
    await stage('unmask', (b) => {
      let sigs = agg.signaturesFor(b);
      if (o.tamperSignatures) sigs = o.tamperSignatures(b, sigs);
      let survivors = agg.survivors();
      if (o.tamperSurvivors) survivors = o.tamperSurvivors(b, survivors);
      agg.receiveUnmaskShares(roundId, b, banks.get(b)!.unmask(roundId, survivors, sigs));
    });
    return out(null, await agg.finish());
  } catch (err) {
    if (err instanceof SecAggError && agg.failed === err) return out(err, null);
    throw err;
  }
}

export { SECAGG_STAGES };
