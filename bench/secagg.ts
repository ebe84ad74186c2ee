/**
 * Secure aggregation (SecAgg+) cost: per-stage CPU time of the banks and of the
 * aggregator, bytes per bank on the wire, and aggregator memory, for 10 and 100 banks
 * with the fraud MLP (4,097 parameters) and a 1,000,000-parameter model.
 *
 * Every bank and the aggregator run in this process with real crypto (the pure core of
 * packages/common/src/secagg); messages are moved by function calls, so the figures are
 * CPU only (no network). 10 banks use the complete graph (t = 6); 100 banks a random
 * Harary graph of degree 14 (neighbourhoods of 15, t = 8), as SecAgg+ (Bell et al. 2020)
 * does for large consortia. 5 % of the banks (at least one) drop after sharing keys, so
 * unmasking also reconstructs their keys and removes their pairwise masks.
 *
 * - Bank time per stage: the median over banks (banks work in parallel in a real round).
 * - Aggregator time per stage: all its `receive*` calls plus closing the stage; for
 *   unmask also reconstruction and mask removal (`finish`).
 * - Added per round ≈ Σ over stages (median bank time + aggregator time).
 * - Reference, same run: a plaintext running float64 sum of the same n float32 updates
 *   (what FedAvg's accumulator does), to compare with the aggregator's secure path.
 * - Bytes per bank: real binary frames (frame.ts + secagg-messages.ts) of one bank's
 *   requests and answers over the five stages.
 * - Aggregator memory: bytes it owns by construction (running sum, keys, envelopes,
 *   shares) and the process-wide growth of ArrayBuffer bytes from before the round to
 *   after masked fit (sampled after a forced GC; the banks' small keys are included,
 *   the JS heap is not: its GC noise is larger than the figures).
 * The result is checked: the unmasked sum equals the survivors' plaintext sum within
 * the fixed-point bound n · 2^-16.
 */
import { createRng } from '@finsecure/common/rng';
import { decodeFrame, encodeFrame, SecAggClientMessage, secaggRoundId } from '@finsecure/common/protocol';
import {
  SecAggAggregatorRound,
  SecAggBankRound,
  advertisementToWire,
  bytesFieldToWire,
  incomingToWire,
  decodeFixedPointSum,
  encodeFixedPoint,
  generateIdentityKeyPair,
  paramsToWire,
  sharesToWire,
  sumErrorBound,
  toBase64,
  unmaskToWire,
  type GraphSpec,
  type SecAggParams,
  type SecAggStage,
} from '@finsecure/common/secagg';
import { createHash } from 'node:crypto';
import {
  bytes,
  gc,
  median,
  num,
  target,
  type Benchmark,
  type BenchContext,
  type BenchResult,
  type Row,
} from './lib.js';

interface Config {
  banks: number;
  params: number;
  graph: 'complete' | 'harary';
}

const STAGES: SecAggStage[] = ['advertise_keys', 'share_keys', 'masked_fit', 'consistency_check', 'unmask'];
const SESSION = '00112233445566778899aabbccddeeff';
const UNMASK_TARGET_MS = 5000;
const ADDED_TARGET_MS = 1000;

function fillUpdate(out: Float32Array, bank: number): Float32Array {
  const rng = createRng(1000 + bank);
  for (let j = 0; j < out.length; j++) out[j] = (rng.next() - 0.5) * 0.02;
  return out;
}

function memoryNow(): number {
  gc();
  return process.memoryUsage().arrayBuffers;
}

async function runConfig(cfg: Config, log: (m: string) => void) {
  const ids = Array.from({ length: cfg.banks }, (_, i) => `bank-${String(i).padStart(3, '0')}`);
  const identities = new Map(ids.map((id) => [id, generateIdentityKeyPair()]));
  const directory = new Map([...identities].map(([id, k]) => [id, k.publicKey]));
  const graph: GraphSpec =
    cfg.graph === 'complete'
      ? { kind: 'complete' }
      : { kind: 'harary', degree: 14, seed: new Uint8Array(createHash('sha256').update('bench').digest()) };
  const threshold = cfg.graph === 'complete' ? Math.floor(cfg.banks / 2) + 1 : 8;
  const round = 1;
  const params: SecAggParams = {
    roundId: secaggRoundId(round, SESSION),
    participants: ids,
    threshold,
    graph,
    vectorLength: cfg.params,
    fixedPoint: { fractionalBits: 16, clip: 1, maxWeight: 1, maxBanks: cfg.banks },
  };
  const rid = params.roundId;
  const dropCount = Math.max(1, Math.round(cfg.banks * 0.05));
  // Spread the dropouts over the ring so no neighbourhood loses more than one.
  const dropped = new Set(
    Array.from({ length: dropCount }, (_, i) => ids[Math.floor((i * cfg.banks) / dropCount) + 1]!),
  );

  const memBefore = memoryNow();
  const agg = new SecAggAggregatorRound(params, directory);
  const banks = new Map(
    ids.map((id) => [id, new SecAggBankRound({ bankId: id, identity: identities.get(id)!, directory })]),
  );
  const bankMs: Record<string, number[]> = Object.fromEntries(STAGES.map((s) => [s, []]));
  const aggMs: Record<string, number> = Object.fromEntries(STAGES.map((s) => [s, 0]));
  const encodeMs: number[] = [];
  const wire: Record<string, number> = {};
  const probe = ids[0]!;
  const frameBytes = (key: string, msg: object, tensors: Parameters<typeof encodeFrame>[1] = []): void => {
    wire[key] = encodeFrame(msg, tensors).length;
  };
  const common = { roundId: round, session: SESSION };
  const timeBank = async (stage: SecAggStage, fn: () => unknown): Promise<void> => {
    const t0 = performance.now();
    await fn();
    bankMs[stage]!.push(performance.now() - t0);
  };
  const timeAgg = async (stage: SecAggStage, fn: () => unknown): Promise<void> => {
    const t0 = performance.now();
    await fn();
    aggMs[stage]! += performance.now() - t0;
  };

  // Stage 1
  frameBytes('advertise_keys down', paramsToWire(params, round, SESSION, 30_000, directory));
  for (const id of ids) {
    let adv!: ReturnType<SecAggBankRound['advertiseKeys']>;
    await timeBank('advertise_keys', () => (adv = banks.get(id)!.advertiseKeys(params)));
    if (id === probe)
      frameBytes('advertise_keys up', { type: 'secagg_keys', ...common, advertisement: advertisementToWire(adv) });
    await timeAgg('advertise_keys', () => agg.receiveKeys(rid, adv));
  }
  await timeAgg('advertise_keys', () => agg.closeAdvertiseKeys());
  log(`${cfg.banks} banks × ${cfg.params}: keys advertised`);

  // Stage 2
  for (const id of ids) {
    let list!: ReturnType<SecAggAggregatorRound['keyListFor']>;
    await timeAgg('share_keys', () => (list = agg.keyListFor(id)));
    let res!: Awaited<ReturnType<SecAggBankRound['shareKeys']>>;
    await timeBank('share_keys', async () => (res = await banks.get(id)!.shareKeys(rid, list)));
    if (id === probe) {
      frameBytes('share_keys down', {
        type: 'secagg_share_keys',
        ...common,
        keys: list.map(advertisementToWire),
        deadlineInMs: 1,
      });
      frameBytes('share_keys up', { type: 'secagg_shares', ...common, ...sharesToWire(res) });
    }
    await timeAgg('share_keys', () => agg.receiveShares(rid, id, res));
  }
  await timeAgg('share_keys', () => agg.closeShareKeys());
  log(`${cfg.banks} banks × ${cfg.params}: keys shared`);

  // Stage 3: encode (clip, weight, stochastic rounding) + mask; plaintext reference sum alongside.
  const update = new Float32Array(cfg.params);
  const plain = new Float64Array(cfg.params);
  const plainMs: number[] = [];
  let memAfterFit = 0;
  for (const id of ids) {
    const i = ids.indexOf(id);
    fillUpdate(update, i);
    if (dropped.has(id)) continue;
    const t0 = performance.now();
    for (let j = 0; j < update.length; j++) plain[j] += update[j]!;
    plainMs.push(performance.now() - t0);
    let shares!: ReturnType<SecAggAggregatorRound['sharesFor']>;
    await timeAgg('masked_fit', () => (shares = agg.sharesFor(id)));
    const t1 = performance.now();
    const { encoded } = encodeFixedPoint(update, 1, params.fixedPoint);
    encodeMs.push(performance.now() - t1);
    let up!: ReturnType<SecAggBankRound['maskedFit']>;
    await timeBank('masked_fit', () => (up = banks.get(id)!.maskedFit(rid, shares, encoded)));
    if (id === probe) {
      frameBytes('masked_fit down (shares only)', { ...common, shares: incomingToWire(shares) });
      const msg = {
        type: 'secagg_masked_update',
        ...common,
        modelVersion: 1,
        signature: toBase64(up.signature),
        loss: 0.1,
        timings: { trainMs: 1 },
      };
      const frame = encodeFrame(msg, [{ name: 'masked', shape: [cfg.params], data: up.masked }]);
      wire['masked_fit up'] = frame.length;
      decodeFrame(frame, SecAggClientMessage); // the schema accepts it
    }
    await timeAgg('masked_fit', () => agg.receiveMaskedUpdate(rid, id, up));
  }
  await timeAgg('masked_fit', () => agg.closeMaskedFit());
  memAfterFit = memoryNow() - memBefore;
  log(`${cfg.banks} banks × ${cfg.params}: masked vectors summed`);

  // Stage 4
  const survivors = agg.survivors();
  for (const id of survivors) {
    let sig!: Uint8Array;
    await timeBank('consistency_check', () => (sig = banks.get(id)!.signSurvivors(rid, survivors)));
    if (id === probe) {
      frameBytes('consistency_check down', { type: 'secagg_consistency_check', ...common, survivors, deadlineInMs: 1 });
      frameBytes('consistency_check up', { type: 'secagg_survivors_signed', ...common, signature: toBase64(sig) });
    }
    await timeAgg('consistency_check', () => agg.receiveSurvivorSignature(rid, id, sig));
  }
  await timeAgg('consistency_check', () => agg.closeConsistencyCheck());

  // Stage 5
  for (const id of survivors) {
    let sigs!: ReturnType<SecAggAggregatorRound['signaturesFor']>;
    await timeAgg('unmask', () => (sigs = agg.signaturesFor(id)));
    let res!: ReturnType<SecAggBankRound['unmask']>;
    await timeBank('unmask', () => (res = banks.get(id)!.unmask(rid, survivors, sigs)));
    if (id === probe) {
      frameBytes('unmask down', {
        type: 'secagg_unmask',
        ...common,
        survivors,
        signatures: bytesFieldToWire(sigs, 'signature'),
        deadlineInMs: 1,
      });
      frameBytes('unmask up', { type: 'secagg_unmask_shares', ...common, ...unmaskToWire(res) });
    }
    await timeAgg('unmask', () => agg.receiveUnmaskShares(rid, id, res));
  }
  const tFinish = performance.now();
  const result = await agg.finish();
  const finishMs = performance.now() - tFinish;
  aggMs['unmask']! += finishMs;
  log(`${cfg.banks} banks × ${cfg.params}: unmasked in ${finishMs.toFixed(0)} ms`);

  const dec = decodeFixedPointSum(result.sum, params.fixedPoint);
  let worst = 0;
  for (let j = 0; j < cfg.params; j++) worst = Math.max(worst, Math.abs(dec[j]! - plain[j]!));
  const bound = sumErrorBound(params.fixedPoint, survivors.length);
  const hood = agg.setup.graph.get(probe)!.length;
  // What the aggregator owns by construction: the running sum, keys, envelopes (freed
  // after masked fit), shares (freed after finish).
  const owned = 4 * cfg.params + cfg.banks * (32 + 32 + 64 + 32) + cfg.banks * (hood - 1) * 94 + cfg.banks * hood * 33;
  return {
    cfg,
    threshold,
    neighbourhood: hood,
    dropped: dropped.size,
    bankMedianMs: Object.fromEntries(STAGES.map((s) => [s, median(bankMs[s]!)])),
    aggMs,
    encodeMedianMs: median(encodeMs),
    finishMs,
    plainTotalMs: plainMs.reduce((a, b) => a + b, 0),
    wire,
    wireTotal: Object.values(wire).reduce((a, b) => a + b, 0),
    ownedBytes: owned,
    measuredBytes: memAfterFit,
    maxError: worst,
    errorBound: bound,
    correct: worst < bound,
  };
}

export const secagg: Benchmark = {
  name: 'secagg',
  title: 'Secure aggregation (SecAgg+): per-stage time, bytes per bank, aggregator memory',
  description: 'SecAgg+ rounds in-process, real crypto: 10/100 banks × MLP/1M parameters',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const configs: Config[] = [
      { banks: 10, params: 4097, graph: 'complete' },
      { banks: 10, params: 1_000_000, graph: 'complete' },
      { banks: 100, params: 4097, graph: 'harary' },
      { banks: 100, params: 1_000_000, graph: 'harary' },
    ];
    const runs = [];
    for (const cfg of configs) runs.push(await runConfig(cfg, ctx.log));
    const stageRows: Row[] = [];
    for (const r of runs) {
      for (const s of STAGES) {
        stageRows.push({
          banks: r.cfg.banks,
          params: num(r.cfg.params),
          stage: s,
          'bank ms (median)': num(r.bankMedianMs[s]!, 1),
          'aggregator ms': num(r.aggMs[s]!, 1),
        });
      }
    }
    const summaryRows: Row[] = runs.map((r) => {
      const added = STAGES.reduce((a, s) => a + r.bankMedianMs[s]! + r.aggMs[s]!, 0);
      return {
        banks: r.cfg.banks,
        params: num(r.cfg.params),
        graph: `${r.cfg.graph} (|N| ${r.neighbourhood}, t ${r.threshold})`,
        dropped: r.dropped,
        'encode ms/bank': num(r.encodeMedianMs, 1),
        'unmask (finish) ms': num(r.finishMs, 0),
        'plaintext sum ms (ref)': num(r.plainTotalMs, 1),
        'added ms/round': num(added, 0),
        'bytes/bank': bytes(r.wireTotal),
        'agg owned': bytes(r.ownedBytes),
        'agg ArrayBuffers': bytes(r.measuredBytes),
        'max err': r.maxError.toExponential(2),
        'bound n·2^-16': r.errorBound.toExponential(2),
      };
    });
    const wireRows: Row[] = runs.map((r) => ({
      banks: r.cfg.banks,
      params: num(r.cfg.params),
      ...Object.fromEntries(Object.entries(r.wire).map(([k, v]) => [k, bytes(v)])),
    }));
    const big = runs.find((r) => r.cfg.banks === 100 && r.cfg.params === 1_000_000)!;
    const mlp10 = runs.find((r) => r.cfg.banks === 10 && r.cfg.params === 4097)!;
    const mlpAdded = STAGES.reduce((a, s) => a + mlp10.bankMedianMs[s]! + mlp10.aggMs[s]!, 0);
    return {
      tables: [
        { title: 'Summary', rows: summaryRows },
        { title: 'Per-stage CPU time', rows: stageRows },
        { title: 'Bytes per bank on the wire (one bank, real frames)', rows: wireRows },
      ],
      targets: [
        target('unmasking 1M parameters at 100 banks', big.finishMs, '<=', UNMASK_TARGET_MS, 'ms'),
        target('added CPU per round, 10 banks, MLP', mlpAdded, '<=', ADDED_TARGET_MS, 'ms'),
        target(
          'secure sum within n·2^-16 of plaintext (all configs)',
          runs.every((r) => r.correct) ? 1 : 0,
          '>=',
          1,
          'ok',
        ),
      ],
      notes: [
        'CPU only: messages are moved in-process, network time is not included.',
        'Masked fit bank time excludes local training and the fixed-point encoding (listed separately).',
      ],
      data: { runs },
    };
  },
};
