/**
 * Admin commands on the federation: start, pause and stop training, roll the global model back
 * to a stored version, and change the settings. Each is an audit entry; each runs on the serial
 * queue (the facade enqueues it), so it never interleaves with a round's step.
 */
import type { TrainingState } from '@finsecure/common/api';
import { weightsSha256, type MlpSpec } from '@finsecure/common/model';
import * as machine from '../round/machine.js';
import { ControlRefused, NotFound, published, storeAudited, type ChangeEntry, type Core } from './core.js';
import { apply } from './runner.js';
import type { FederationSettings } from './settings.js';
import { publishSettings, publishStatus } from './views.js';

/** The first field in which a stored model spec differs from the configured one, or null. */
export function specMismatch(stored: Record<string, unknown> | MlpSpec, configured: MlpSpec): string | null {
  const s = stored as Partial<MlpSpec>;
  if (s.inputSize !== configured.inputSize) return 'inputSize';
  if (JSON.stringify(s.hidden) !== JSON.stringify(configured.hidden)) return 'hidden';
  return null; // dropout changes training, not the weights' meaning
}

/** The training state, stored, then in force (a store failure leaves the one in force). */
export async function setState(core: Core, state: TrainingState): Promise<void> {
  await core.opts.store.setSetting('trainingState', state);
  core.state = state;
  publishStatus(core);
}

/**
 * The settings with the round budget raised to the committed rounds plus `additional`, and the
 * `config.changed` entry that records it.
 */
function extendedRounds(core: Core, additional: number): { next: FederationSettings; entry: ChangeEntry } {
  const before = core.settings;
  const next = { ...before, rules: { ...before.rules, rounds: core.roundsCompleted + additional } };
  const entry = {
    type: 'config.changed',
    details: {
      before: { rules: { rounds: before.rules.rounds } },
      after: { rules: { rounds: next.rules.rounds } },
      reason: `start with ${additional} more round(s)`,
    },
  };
  return { next, entry };
}

/** See Federation.control. */
export async function control(
  core: Core,
  action: 'start' | 'pause' | 'stop',
  actor: string,
  opts: { additionalRounds?: number },
): Promise<TrainingState> {
  const budget =
    action === 'start' && opts.additionalRounds !== undefined ? extendedRounds(core, opts.additionalRounds) : null;
  if (action === 'start' && !budget) {
    const { rules } = core.settings;
    if (rules.rounds > 0 && core.roundsCompleted >= rules.rounds)
      throw new ControlRefused(
        `training is finished: all ${rules.rounds} configured rounds are committed (global model v${core.globalVersion}); ` +
          'start again with additionalRounds (the number of rounds to add) or raise rules.rounds',
      );
  }
  // The new state, a raised budget and their entries in one transaction; in force only once stored.
  const state: TrainingState = action === 'start' ? 'running' : action === 'pause' ? 'paused' : 'stopped';
  const control: ChangeEntry = { type: 'training.control', details: { action, ...opts } };
  const settings = budget ? { federation: budget.next, trainingState: state } : { trainingState: state };
  const entries: [ChangeEntry, ...ChangeEntry[]] = budget ? [budget.entry, control] : [control];
  await storeAudited(core, settings, actor, ...entries);
  if (budget) core.settings = budget.next;
  core.state = state;
  if (budget) publishSettings(core);
  publishStatus(core);
  if (action === 'start') core.scheduleStart(0);
  // Pause: the running round finishes and no new round starts. Stop: the running round ends now.
  if (action === 'stop' && core.active)
    await apply(core, machine.abortRound(core.active.state, 'stopped by admin', core.opts.clock.now()));
  return core.state;
}

/** See Federation.rollback. */
export async function rollback(
  core: Core,
  version: number,
  actor: string,
): Promise<{ version: number; restoredFrom: number }> {
  if (core.active)
    throw new ControlRefused(
      `round ${core.active.record.id} is in flight; pause training and roll back when it has ended`,
    );
  const model = await core.opts.store.getModel(version);
  if (!model) throw new NotFound(`model version ${version} does not exist`);
  if (weightsSha256(model.weights) !== model.sha256)
    throw new Error(`stored model v${version} does not match its sha256; the store is damaged`);
  const mismatch = specMismatch(model.spec, core.opts.spec);
  if (mismatch) throw new ControlRefused(`model v${version} has another architecture (${mismatch} differs)`);
  const previous = core.globalVersion;
  const next = previous + 1;
  const now = core.opts.clock.now();
  // The new version and its entry together: a global model nobody recorded is not possible.
  const entry = await core.opts.store.saveModelAudited(
    {
      version: next,
      roundId: null,
      createdAt: now,
      sha256: model.sha256,
      weights: model.weights,
      spec: { ...core.opts.spec },
    },
    { at: now, type: 'model.rolled_back', actor, details: { restoredFrom: version, previous, newVersion: next } },
  );
  published(core, entry);
  core.globalVersion = next;
  core.globalWeights = model.weights;
  core.opts.logger.warn({ restoredFrom: version, previous, newVersion: next }, 'global model rolled back');
  publishStatus(core);
  return { version: next, restoredFrom: version };
}

/** See Federation.updateSettings. */
export async function updateSettings(
  core: Core,
  change: (current: FederationSettings) => FederationSettings | Error,
  actor: string,
): Promise<FederationSettings | Error> {
  const before = core.settings;
  const next = change(before);
  if (next instanceof Error) return next;
  await storeAudited(core, { federation: next }, actor, { type: 'config.changed', details: { before, after: next } });
  core.settings = next;
  publishSettings(core);
  publishStatus(core); // roundsConfigured
  core.scheduleStart(0);
  return next;
}
