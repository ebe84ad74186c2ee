/**
 * Real SecureFit objects (the bank daemon's side of the secagg workflow) driven in process by the
 * SecAgg+ aggregator core, messages converted to and from their wire form as on the socket. The
 * model is a stand-in that returns a fixed update (no training), so a round takes milliseconds;
 * the test plays the aggregator, and may drop banks or tamper with what it forwards.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import pino from 'pino';
import {
  advertisementFromWire,
  advertisementToWire,
  fromBase64,
  generateIdentityKeyPair,
  incomingToWire,
  paramsToWire,
  SecAggAggregatorRound,
  sharesFromWire,
  unmaskFromWire,
  type FixedPointParams,
  type IdentityKeyPair,
  type SecAggParams,
} from '@finsecure/common/secagg';
import type {
  DpParams,
  FederationClientMessage,
  SecAggServerMessage,
  TensorInput,
  TrainingConfig,
} from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import { LocalPrivacyLedger } from '../../src/privacy.js';
import type { FitOutput } from '../../src/round-work.js';
import { PinnedIdentities } from '../../src/secagg/identity.js';
import type { SecAggRoster } from '../../src/secagg/roster.js';
import { SecureFit } from '../../src/secagg/secure-fit.js';

export const quiet = pino({ level: 'silent' });

/** One bank: its SecureFit, what it sent, how often it trained, its privacy ledger. */
export interface SimBank {
  id: string;
  identity: IdentityKeyPair;
  fit: SecureFit;
  sent: FederationClientMessage[];
  masked: Uint32Array | null;
  fits: number;
  ledger: LocalPrivacyLedger;
  stateDir: string;
}

export interface SimOptions {
  ids: string[];
  /** The banks' identity keys, in the order of `ids` (default: new ones). */
  identities?: IdentityKeyPair[];
  /** Roster each bank checks against (null: trust on first use). */
  roster?: SecAggRoster | null;
  /** Model coordinates (the masked vector has two more). */
  d?: number;
}

const made: string[] = [];

/** Removes the state directories simBanks made (call in afterAll). */
export function removeSimBanks(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function simBanks(o: SimOptions): SimBank[] {
  const base = mkdtempSync(path.join(os.tmpdir(), 'finsecure-securefit-'));
  made.push(base);
  const d = o.d ?? 3;
  return o.ids.map((id, i) => {
    const stateDir = path.join(base, id);
    const identity = o.identities?.[i] ?? generateIdentityKeyPair();
    const ledger = new LocalPrivacyLedger(stateDir);
    const bank: SimBank = {
      id,
      identity,
      sent: [],
      masked: null,
      fits: 0,
      ledger,
      stateDir,
      fit: null as unknown as SecureFit,
    };
    bank.fit = new SecureFit({
      bankId: id,
      identity,
      pinned: new PinnedIdentities(stateDir),
      logger: quiet,
      model: {
        fit: () => {
          bank.fits++;
          const out = {
            delta: Float32Array.from({ length: d }, (_, j) => 0.01 * (i + 1) * (j + 1)),
            numExamples: 100,
            numFeedback: 0,
            numTrained: 100,
            numSynthetic: 0,
            loss: 0.1,
            trainMs: 1,
            prepareMs: 1,
          } satisfies FitOutput;
          return Promise.resolve(out);
        },
        evaluate: () => null,
        effectiveDp: (requested: DpParams | undefined) => (requested ? { ...requested } : null),
      },
      roster: o.roster ?? null,
      privacy: { ledger, noiseRng: createRng(7 + i) },
      send: (m: FederationClientMessage) => bank.sent.push(m),
      offerUpdate: (m: FederationClientMessage, t: TensorInput[]) => {
        bank.sent.push(m);
        bank.masked = t[0]!.data as Uint32Array;
      },
    });
    return bank;
  });
}

/** The last message a bank sent, by type; throws naming what it sent instead. */
export function lastSent<T extends FederationClientMessage['type']>(
  bank: SimBank,
  type: T,
): Extract<FederationClientMessage, { type: T }> {
  const m = bank.sent.at(-1);
  if (m?.type !== type) throw new Error(`${bank.id} sent ${JSON.stringify(m)}, not ${type}`);
  return m as Extract<FederationClientMessage, { type: T }>;
}

export interface SimRound {
  round: number;
  session: string;
  params: SecAggParams;
  agg: SecAggAggregatorRound;
  /** The directory the aggregator forwards (bank id → identity key). */
  directory: Map<string, Uint8Array>;
}

const DEADLINE = 60_000;

/**
 * Stage 1 and 2 for `banks` (all participants): the aggregator's round with `directory`
 * (default: the banks' real keys), every bank advertising and sharing its keys.
 */
export async function openRound(
  banks: SimBank[],
  o: {
    threshold: number;
    fixedPoint: FixedPointParams;
    d?: number;
    directory?: Map<string, Uint8Array>;
    /** The distributed-DP quorum the round asks for: the aggregator checks the banks' signatures with it. */
    dpQuorum?: number;
  },
): Promise<SimRound> {
  const round = 7;
  const session = 'ab'.repeat(16);
  const directory = o.directory ?? new Map(banks.map((b) => [b.id, b.identity.publicKey]));
  const params: SecAggParams = {
    roundId: `${round}/${session}`,
    participants: banks.map((b) => b.id).sort(),
    threshold: o.threshold,
    graph: { kind: 'complete' },
    vectorLength: (o.d ?? 3) + 2,
    fixedPoint: o.fixedPoint,
  };
  const agg = new SecAggAggregatorRound(params, directory, o.dpQuorum !== undefined ? { dpQuorum: o.dpQuorum } : {});
  const request = paramsToWire(params, round, session, DEADLINE, directory);
  for (const b of banks) {
    await b.fit.handle(request as SecAggServerMessage, new Map());
    const keys = lastSent(b, 'secagg_keys');
    agg.receiveKeys(params.roundId, advertisementFromWire(keys.advertisement));
  }
  agg.closeAdvertiseKeys();
  for (const b of banks) {
    const keys = agg.keyListFor(b.id).map(advertisementToWire);
    await b.fit.handle(
      { type: 'secagg_share_keys', roundId: round, session, keys, deadlineInMs: DEADLINE } as SecAggServerMessage,
      new Map(),
    );
    agg.receiveShares(params.roundId, b.id, sharesFromWire(lastSent(b, 'secagg_shares')));
  }
  agg.closeShareKeys();
  return { round, session, params, agg, directory };
}

/** Stage 3 request for `bank`: distributed DP (clip 1, z = 1.1) with quorum `dpQuorum`, if given. */
export async function maskedFit(r: SimRound, bank: SimBank, dpQuorum?: number): Promise<void> {
  const dp = { clip: 1, noiseMultiplier: 1.1, delta: 1e-5 };
  const config = {
    epochs: 1,
    batchSize: 32,
    learningRate: 0.01,
    smoteRatio: 0,
    smoteK: 5,
    updateEncoding: 'float32',
    ...(dpQuorum !== undefined ? { dp } : {}),
  } as TrainingConfig;
  const d = r.params.vectorLength - 2;
  await bank.fit.handle(
    {
      type: 'secagg_masked_fit',
      roundId: r.round,
      session: r.session,
      modelVersion: 0,
      config,
      scaler: { mean: [], std: [] },
      weighting: {
        exampleScale: 100,
        lossExponent: 0,
        normalizeSteps: false,
        stepScale: 10,
        ...(dpQuorum !== undefined ? { dpQuorum } : {}),
      },
      shares: incomingToWire(r.agg.sharesFor(bank.id)),
      deadlineInMs: DEADLINE,
    } as unknown as SecAggServerMessage,
    new Map([['global', { data: new Float32Array(d) }]]),
  );
}

/** The masked update `bank` offered, handed to the aggregator. */
export function deliverMasked(r: SimRound, bank: SimBank): void {
  const m = lastSent(bank, 'secagg_masked_update');
  r.agg.receiveMaskedUpdate(r.params.roundId, bank.id, {
    masked: bank.masked!,
    signature: fromBase64(m.signature, 'signature'),
  });
}

/** Stage 4 request with the aggregator's survivor list. */
export async function consistencyCheck(r: SimRound, bank: SimBank, survivors = r.agg.survivors()): Promise<void> {
  await bank.fit.handle(
    {
      type: 'secagg_consistency_check',
      roundId: r.round,
      session: r.session,
      survivors,
      deadlineInMs: DEADLINE,
    } as SecAggServerMessage,
    new Map(),
  );
}

/** Stage 5 request: the survivor list and the signatures the aggregator holds for `bank`. */
export async function unmask(r: SimRound, bank: SimBank, survivors = r.agg.survivors()): Promise<void> {
  const signatures = r.agg
    .signaturesFor(bank.id)
    .map((s) => ({ bankId: s.bankId, signature: Buffer.from(s.signature).toString('base64') }));
  await bank.fit.handle(
    { type: 'secagg_unmask', roundId: r.round, session: r.session, survivors, signatures, deadlineInMs: DEADLINE },
    new Map(),
  );
}

/** Hands `bank`'s unmask answer to the aggregator. */
export function deliverUnmask(r: SimRound, bank: SimBank): void {
  r.agg.receiveUnmaskShares(r.params.roundId, bank.id, unmaskFromWire(lastSent(bank, 'secagg_unmask_shares')));
}
