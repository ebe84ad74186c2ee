/**
 * Runs the round in flight: carries out each workflow transition's effects (ask banks, aggregate,
 * commit, fail), persists the round record when its phase changes, and keeps
 * one timer armed for the moment the workflow next wants to be woken.
 */
import * as machine from '../round/machine.js';
import { armDeadline } from './clock.js';
import type { ActiveRound, Core } from './core.js';
import { aggregateRound, ask } from './workflows.js';
import { commit, failRound } from './round-end.js';
import { publishRound, publishStatus } from './views.js';
import { closeUploads, releaseUpload } from './upload-slots.js';

/** Carries out a transition's effects, persists the round, and re-arms the timer. */
export async function apply(core: Core, t: machine.Transition): Promise<void> {
  const round = core.active;
  if (!round) return;
  round.state = t.state;
  // Uploads are granted only while the training stages run: no grant outlives them.
  if (round.state.phase !== 'training') closeUploads(core, round);
  for (const effect of t.effects) {
    if (!core.active) break;
    switch (effect.type) {
      case 'ask':
        if (!(await ask(core, round, effect.stage, effect.bankIds, effect.deadline))) return;
        break;
      case 'aggregate':
        await aggregateRound(core, round);
        return; // aggregateRound() applies its own transition
      case 'commit':
        await commit(core, round);
        return;
      case 'fail':
        await failRound(core, round, effect.reason, effect.forBanks);
        return;
    }
  }
  round.record.status = round.state.phase;
  // Persist and publish on phase changes only. Saving the whole record after every
  // update made a round with n banks cost O(n²); an unfinished round is marked failed
  // after a crash anyway, so its per-update progress needs no durability.
  if (round.savedPhase !== round.state.phase) {
    await core.opts.store.saveRound(round.record);
    round.savedPhase = round.state.phase;
    publishRound(core, round.record);
    publishStatus(core);
  }
  armTimer(core);
}

/** One timer for the round in flight, at the workflow's next wake-up time. */
export function armTimer(core: Core): void {
  const { clock } = core.opts;
  clock.clearTimeout(core.roundTimer);
  if (core.closed) return;
  const round = core.active;
  if (!round) return;
  const at = machine.wakeAt(round.state);
  if (at === null) return;
  // Late (the event loop held past the deadline): the frames that came during the hold are read
  // first, and count as arriving at `at` (frames.ts), since they may have come before it.
  core.roundTimer = armDeadline(
    clock,
    at,
    core,
    () =>
      void core.enqueue(async () => {
        // Not after close(): a late timer's deferred tick may come after it.
        if (!core.closed && core.active === round) await apply(core, machine.tick(round.state, clock.now()));
      }),
  );
}

/** A bank can no longer answer in the round in flight (lost, declined, sent something invalid). */
export async function lose(core: Core, bankId: string, reason: string): Promise<void> {
  if (!core.active) return;
  // Its upload slot (or its place in the queue) passes to the next offer.
  releaseUpload(core, core.active, bankId);
  await apply(core, machine.bankLost(core.active.state, bankId, reason, core.opts.clock.now()));
}

/** Adds the bytes sent to a bank to its entry in the round record. */
export function countDown(core: Core, round: ActiveRound, bankId: string, n: number): void {
  const stats = round.record.banks[bankId] ?? { bytesUp: 0, bytesDown: 0 };
  stats.bytesDown += n;
  round.record.banks[bankId] = stats;
  core.opts.observer?.bytes?.('down', n);
}
