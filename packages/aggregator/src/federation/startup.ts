/**
 * Start-up: load (or create) the global model and check it fits the configured architecture,
 * fail the rounds a crash interrupted, restore the settings, the scaler, the refusals, the
 * privacy ledger, the per-bank statistics and the training state.
 */
import type { TrainingState } from '@finsecure/common/api';
import type { Scaler } from '@finsecure/common/protocol';
import { createRng } from '@finsecure/common/rng';
import { initWeights, manifestFor, weightsSha256, type MlpSpec } from '@finsecure/common/model';
import { published, statsOf, type Core, type Refusal } from './core.js';
import { specMismatch } from './admin.js';
import { parseStoredSettings } from './settings.js';
import { noneHeldWithoutRounds } from './quarantine.js';

function describeSpec(spec: Record<string, unknown> | MlpSpec): string {
  const s = spec as Partial<MlpSpec>;
  return `inputSize ${s.inputSize}, hidden [${(s.hidden ?? []).join(', ')}], dropout ${s.dropout}`;
}

async function loadGlobalModel(core: Core): Promise<void> {
  const { store, spec, clock, seed } = core.opts;
  const latest = await store.latestModel();
  if (latest) {
    const expected = manifestFor(spec).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    // The architecture, not only the weight count: [64, 32] and [128] both have 4,097 weights
    // for 30 features, and the old weights would be sent as a model they do not fit.
    const mismatch = specMismatch(latest.spec, spec);
    if (mismatch || latest.weights.length !== expected) {
      throw new Error(
        `stored global model v${latest.version} was trained as ${describeSpec(latest.spec)} (${latest.weights.length} weights) ` +
          `but the configured model is ${describeSpec(spec)} (${expected} weights)${mismatch ? `: ${mismatch} differs` : ''}; ` +
          'use a new data directory or the original model settings',
      );
    }
    core.globalVersion = latest.version;
    core.globalWeights = latest.weights;
    return;
  }
  const w = initWeights(spec, createRng(seed));
  await store.saveModel({
    version: 0,
    roundId: null,
    createdAt: clock.now(),
    sha256: weightsSha256(w.data),
    weights: w.data,
    spec: { ...spec },
  });
  core.globalWeights = w.data;
}

/**
 * Settings changed through the API survive a restart, unless the operator restarted with a
 * different configuration: then what they just asked for wins. Both are parsed: settings stored
 * by an earlier version get the defaults of fields added since, so an upgrade neither loses an
 * admin's changes nor runs with undefined fields.
 */
async function restoreSettings(core: Core): Promise<void> {
  const { store, logger, settings: configured } = core.opts;
  const storedSettings = await store.getSetting<unknown>('federation');
  const savedSettings = parseStoredSettings(storedSettings);
  const lastStartup = parseStoredSettings(await store.getSetting<unknown>('startupSettings'));
  if (savedSettings && lastStartup && JSON.stringify(lastStartup) === JSON.stringify(configured)) {
    core.settings = savedSettings;
  } else if (storedSettings && !savedSettings) {
    logger.warn('the stored training settings and round rules are no longer valid; the configuration replaces them');
  } else if (savedSettings) {
    logger.info(
      'the configuration differs from the last start; its training settings and round rules replace the stored ones',
    );
  }
  await store.setSetting('startupSettings', configured);
  await store.setSetting('federation', core.settings);
}

/** Rebuilds the per-bank statistics and round counts from the stored rounds. */
async function replayRounds(core: Core): Promise<void> {
  for (const r of await core.opts.store.listRoundsAscending()) {
    if (r.status === 'committed') {
      core.roundsCompleted++;
      if (r.metrics?.auprc !== undefined) core.lastCommittedAuprc = r.metrics.auprc;
    }
    if (r.status === 'failed') core.roundsFailed++;
    const participants = new Set(r.participants);
    for (const [bankId, s] of Object.entries(r.banks)) {
      const st = statsOf(core, bankId);
      if (participants.has(bankId)) st.rounds++;
      if (s.updateBytes !== undefined) st.lastUpdateBytes = s.updateBytes;
      if (s.rejected) st.rejections.push({ roundId: r.id, reason: s.rejected, at: r.endedAt ?? r.startedAt });
      st.rejections = st.rejections.slice(-20);
    }
  }
}

/** Everything `Federation.init` restores, in order. */
export async function restore(core: Core): Promise<void> {
  const { store, clock, logger } = core.opts;
  await loadGlobalModel(core);
  const head = await store.auditHead();
  core.auditHead = head ? { seq: head.seq, hash: head.hash } : null;
  // The rounds and their round.failed entries in one transaction (a crash keeps all or nothing).
  const { ids: interrupted, entries } = await store.failUnfinishedRoundsAudited('aggregator restarted', clock.now());
  for (const entry of entries) published(core, entry);
  core.nextRoundId = (await store.maxRoundId()) + 1;
  await noneHeldWithoutRounds(store, core.nextRoundId > 1);
  core.scaler = await store.getSetting<Scaler>('scaler');
  core.refusals = (await store.getSetting<Record<string, Refusal>>('bankRefusals')) ?? {};
  await restoreSettings(core);
  await core.ledger.load();
  await core.identities.load();
  await replayRounds(core);
  const saved = await store.getSetting<TrainingState>('trainingState');
  if (saved === 'running') {
    core.state = 'running';
    logger.info({ modelVersion: core.globalVersion, interrupted }, 'resuming training from the last committed round');
  } else if (saved) {
    core.state = saved;
  }
}
