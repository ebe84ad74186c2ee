/**
 * The aggregation strategy is a setting: chosen and tuned through the round rules
 * (config file, environment, flags or the admin API), built by the aggregator, and
 * applied to the real updates of a round. Raw banks send known deltas so that the
 * committed global model can be checked against the strategy computed directly.
 */
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRng } from '@finsecure/common/rng';
import { FedAvg, FedMedian, type FitResult, type Strategy } from '@finsecure/common/strategy';
import { loadConfig } from '../src/config/load.js';
import { DEFAULT_RULES, RoundRules, strategySpec } from '../src/round/rules.js';
import type { RunningAggregator } from '../src/index.js';
import { createStore } from '../src/store/index.js';
import {
  aggregatorConfig,
  api,
  cleanup,
  createBank,
  quiet,
  startTestAggregator,
  tempDir,
  updateAccepted,
  waitRounds,
} from './helpers/federation.js';
import { startAggregator } from '../src/index.js';
import { RawBank, updateMessage } from './helpers/raw-bank.js';

const PARAMS = 4097; // the default 30-64-32-1 MLP

describe('strategy settings', () => {
  it('come from the environment and flags, with the measured FedAvg options by default', () => {
    // bench/RESULTS.md, "Choosing the defaults": step-normalised, loss^0.5, server lr 0.3, local lr 0.003, SMOTE ≤ 5×.
    expect(strategySpec(loadConfig({}).rules)).toEqual({
      name: 'fedavg',
      options: { maxShare: 1, normalizeSteps: true, lossExponent: 0.5, serverLearningRate: 0.3, serverMomentum: 0 },
    });
    expect(loadConfig({}).training).toMatchObject({ learningRate: 0.003, smoteMaxMultiplier: 5 });
    const c = loadConfig({
      env: {
        FINSECURE_NORMALIZE_STEPS: 'true',
        FINSECURE_LOSS_EXPONENT: '0.5',
        FINSECURE_SERVER_LEARNING_RATE: '0.3',
        FINSECURE_SERVER_MOMENTUM: '0.9',
        FINSECURE_SMOTE_MAX_MULTIPLIER: '5',
        FINSECURE_SMOTE_K: '3',
      },
      flags: { rules: { serverMomentum: 0.5 } as never },
    });
    expect(c.rules).toMatchObject({ normalizeSteps: true, lossExponent: 0.5, serverLearningRate: 0.3 });
    expect(c.rules.serverMomentum).toBe(0.5); // flags beat the environment
    expect(c.training).toMatchObject({ smoteMaxMultiplier: 5, smoteK: 3 });
    expect(strategySpec(loadConfig({ env: { FINSECURE_STRATEGY: 'fedmedian' } }).rules)).toEqual({
      name: 'fedmedian',
      options: {},
    });
  });

  it('refuse values and combinations no strategy can run, naming the setting', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [
        { FINSECURE_STRATEGY: 'zeno' },
        /rules\.strategy: Invalid option: expected one of "fedavg"\|"fedmedian"\|"krum"/,
      ],
      [{ FINSECURE_NORMALIZE_STEPS: 'sometimes' }, /FINSECURE_NORMALIZE_STEPS must be true or false/],
      [{ FINSECURE_LOSS_EXPONENT: '5' }, /rules\.lossExponent/],
      [{ FINSECURE_SERVER_LEARNING_RATE: '0' }, /rules\.serverLearningRate/],
      [{ FINSECURE_SERVER_MOMENTUM: '1' }, /rules\.serverMomentum/],
      [{ FINSECURE_SMOTE_MAX_MULTIPLIER: '0' }, /training\.smoteMaxMultiplier/],
      [
        { FINSECURE_NORMALIZE_STEPS: 'true', FINSECURE_MAX_SHARE: '0.2' },
        /rules\.normalizeSteps: normalizeSteps cannot be combined with maxShare \(0\.2\) < 1/,
      ],
      [
        { FINSECURE_STRATEGY: 'fedmedian', FINSECURE_SERVER_LEARNING_RATE: '0.5' },
        /rules\.strategy: the fedmedian strategy ignores example counts and takes no options; reset serverLearningRate \(0\.5 → 1\) or use fedavg/,
      ],
    ];
    for (const [env, message] of bad) expect(() => loadConfig({ env }), JSON.stringify(env)).toThrow(message);
  });

  it('accept rules stored before the options existed (filled in with plain FedAvg, what such a federation ran)', () => {
    const old: Record<string, unknown> = { ...DEFAULT_RULES };
    for (const k of ['strategy', 'normalizeSteps', 'lossExponent', 'serverLearningRate', 'serverMomentum'])
      delete old[k];
    expect(RoundRules.parse(old)).toEqual({
      ...DEFAULT_RULES,
      strategy: 'fedavg',
      normalizeSteps: false,
      lossExponent: 0,
      serverLearningRate: 1,
      serverMomentum: 0,
    });
  });

  it('let a robust strategy be chosen alone: FedAvg options left at their defaults do not block it', () => {
    expect(strategySpec(loadConfig({ env: { FINSECURE_STRATEGY: 'fedmedian' } }).rules).name).toBe('fedmedian');
    expect(() => loadConfig({ env: { FINSECURE_STRATEGY: 'fedmedian', FINSECURE_LOSS_EXPONENT: '1' } })).toThrow(
      /reset lossExponent \(1 → 0\) or use fedavg/,
    );
  });
});

describe('the federation aggregates with the configured strategy', () => {
  const dir = tempDir();
  let agg: RunningAggregator | undefined;
  const banks: RawBank[] = [];
  afterEach(async () => {
    banks.splice(0).forEach((b) => b.close());
    await agg?.close();
  });
  afterAll(() => cleanup(dir));

  /** Two banks of different sizes and losses: every FedAvg option changes the result. */
  const updates: Omit<FitResult, 'delta'>[] = [
    { bankId: 'small', numExamples: 100, numTrained: 150, loss: 0.4 },
    { bankId: 'large', numExamples: 400, numTrained: 400, loss: 0.05 },
  ];
  const deltaOf = (bankId: string, roundId: number) =>
    Float32Array.from({ length: PARAMS }, (_, i) =>
      bankId === 'small' ? 0.01 * Math.sin(i + roundId) : -0.004 * Math.cos(3 * i + roundId),
    );

  /** Registers the two banks and connects them, each declaring its example count. */
  async function joinBanks(running: RunningAggregator): Promise<void> {
    for (const u of updates) {
      const token = await createBank(running, u.bankId);
      banks.push(await RawBank.join(`${running.wsUrl}/ws/bank`, u.bankId, token, u.numExamples));
    }
  }

  /** Answers one round assignment per bank with its known delta. */
  async function playRound(): Promise<number> {
    let roundId = 0;
    await Promise.all(
      banks.map(async (b, i) => {
        const a = await b.next('round_assignment');
        roundId = a.msg.roundId;
        const u = updates[i]!;
        b.send(updateMessage(a.msg, { numExamples: u.numExamples, numTrained: u.numTrained!, loss: u.loss }), [
          { name: 'update', shape: [PARAMS], data: deltaOf(u.bankId, roundId) },
        ]);
        await updateAccepted(agg!, u.bankId, a.msg.roundId);
      }),
    );
    return roundId;
  }

  /** What `strategy` makes of this round's updates, computed directly. */
  function expected(strategy: Strategy, global: Float32Array, roundId: number, withNumTrained = true): Float32Array {
    const ctx = { roundId, global, config: agg!.federation.getSettings().training, rng: createRng(1) };
    const a = strategy.beginAggregation(
      ctx,
      updates.map((u) => ({ bankId: u.bankId, numExamples: u.numExamples })),
    );
    for (const u of updates) {
      const { numTrained, ...rest } = u;
      a.add({ ...rest, ...(withNumTrained ? { numTrained } : {}), delta: deltaOf(u.bankId, roundId) });
    }
    return a.finish().weights;
  }

  const committed = (n: number) =>
    waitRounds(agg!, (rs) => rs.filter((r) => r.status === 'committed').length >= n, `${n} committed round(s)`);

  it("refuses an update claiming more trained rows than SMOTE can make (it would scale every bank's step)", async () => {
    agg = await startTestAggregator(path.join(dir, 'inflated'), {
      autoStart: true,
      rules: { rounds: 1, normalizeSteps: true } as never,
    });
    await joinBanks(agg);
    const a = await banks[0]!.next('round_assignment');
    banks[0]!.send(updateMessage(a.msg, { numExamples: 100, numTrained: 201, loss: 0.4 }), [
      { name: 'update', shape: [PARAMS], data: deltaOf('small', a.msg.roundId) },
    ]);
    const ack = await banks[0]!.next('ack');
    expect(ack.msg.accepted).toBe(false);
    expect(ack.msg.reason).toBe("numTrained 201 exceeds 2 × numExamples 100 (SMOTE at most doubles a bank's rows)");
  });

  it('step-normalised, loss-weighted FedAvg with a server learning rate, then FedMedian after an API change', async () => {
    const options = { normalizeSteps: true, lossExponent: 0.5, serverLearningRate: 0.5 };
    agg = await startTestAggregator(path.join(dir, 'agg'), {
      autoStart: true,
      // Raw banks do not evaluate: the evaluation stage closes at its (short) deadline.
      rules: { rounds: 1, evaluationTimeoutMs: 200, ...options } as never,
    });
    await joinBanks(agg);
    const initial = Float32Array.from(agg.federation.globalModel().weights);
    const r1 = await playRound();
    const rounds1 = await committed(1);
    const after1 = Float32Array.from(agg.federation.globalModel().weights);
    const want = expected(new FedAvg(options), initial, r1);
    expect(Array.from(after1)).toEqual(Array.from(want));
    // The test can fail: each option (and the rows trained, numTrained) changes the model.
    for (const other of [
      expected(new FedAvg({ ...options, normalizeSteps: false }), initial, r1),
      expected(new FedAvg({ ...options, lossExponent: 0 }), initial, r1),
      expected(new FedAvg({ ...options, serverLearningRate: 1 }), initial, r1),
      expected(new FedAvg(options), initial, r1, false),
    ])
      expect(Array.from(after1)).not.toEqual(Array.from(other));
    expect(rounds1.find((r) => r.id === r1)!.config).toMatchObject({
      strategy: 'fedavg',
      rules: { normalizeSteps: true, lossExponent: 0.5, serverLearningRate: 0.5 },
    });

    // An admin cannot switch to FedMedian while FedAvg options are set...
    const refused = await api<{ message: string }>(agg, 'PUT', '/api/config', { rules: { strategy: 'fedmedian' } });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/fedmedian strategy ignores example counts and takes no options/);
    // ...and can once they are reset; the next round aggregates with the median.
    const changed = await api(agg, 'PUT', '/api/config', {
      rules: { strategy: 'fedmedian', rounds: 2, normalizeSteps: false, lossExponent: 0, serverLearningRate: 1 },
    });
    expect(changed.status).toBe(200);
    expect((await api(agg, 'POST', '/api/training/start')).status).toBeLessThan(300);
    const r2 = await playRound();
    const rounds2 = await committed(2);
    expect(rounds2.find((r) => r.id === r2)!.config).toMatchObject({ strategy: 'fedmedian' });
    const after2 = agg.federation.globalModel().weights;
    expect(Array.from(after2)).toEqual(Array.from(expected(new FedMedian(), after1, r2)));
  });
});

describe('settings stored by an earlier version', () => {
  const dir = tempDir();
  afterAll(() => cleanup(dir));

  /** Seeds a store as a version without the strategy rules would have left it. */
  async function seed(dataDir: string, saved: (rules: Record<string, unknown>) => unknown) {
    const config = aggregatorConfig(dataDir);
    const oldRules: Record<string, unknown> = { ...config.rules };
    for (const k of ['strategy', 'normalizeSteps', 'lossExponent', 'serverLearningRate', 'serverMomentum'])
      delete oldRules[k];
    const store = await createStore({ sqlitePath: path.join(dataDir, 'finsecure.db') });
    await store.init();
    await store.setSetting('startupSettings', { training: config.training, rules: oldRules });
    await store.setSetting('federation', saved(oldRules));
    await store.close();
    return config;
  }

  it("keeps an admin's changes across the upgrade and fills in the new rules with their defaults", async () => {
    const dataDir = path.join(dir, 'upgrade');
    const config = await seed(dataDir, (rules) => ({
      training: { ...aggregatorConfig(dataDir).training, epochs: 3 },
      rules: { ...rules, rounds: 7, maxShare: 0.5 },
    }));
    // The operator's configuration is what the earlier version ran: plain FedAvg (the defaults
    // changed since; with the new defaults the configuration differs and replaces the stored settings).
    const plain = { normalizeSteps: false, lossExponent: 0, serverLearningRate: 1, serverMomentum: 0 };
    const agg = await startAggregator({ ...config, rules: { ...config.rules, ...plain } }, { logger: quiet });
    try {
      const settings = agg.federation.getSettings();
      expect(settings.rules).toMatchObject({ rounds: 7, maxShare: 0.5, strategy: 'fedavg', normalizeSteps: false });
      expect(settings.rules.serverLearningRate).toBe(1);
      expect(settings.training.epochs).toBe(3);
      expect(strategySpec(settings.rules).options).toMatchObject({ maxShare: 0.5, serverMomentum: 0 });
    } finally {
      await agg.close();
    }
  });

  it('replaces stored settings that no longer validate with the configuration', async () => {
    const dataDir = path.join(dir, 'invalid');
    const config = await seed(dataDir, (rules) => ({ training: { epochs: 'many' }, rules }));
    const agg = await startAggregator(config, { logger: quiet });
    try {
      expect(agg.federation.getSettings()).toEqual({ training: config.training, rules: config.rules });
    } finally {
      await agg.close();
    }
  });
});
