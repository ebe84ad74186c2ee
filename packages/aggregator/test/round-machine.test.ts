import { describe, expect, it } from 'vitest';
import * as m from '../src/round/machine.js';
import { secaggWorkflow } from '../src/round/workflow.js';

const limits: m.RoundLimits = { quorum: 2, roundTimeoutMs: 10_000, graceMs: 1_000, evaluationTimeoutMs: 5_000 };

function started(selected = ['a', 'b', 'c'], now = 1_000) {
  const t = m.startRound(7, 3, selected, limits, now);
  expect(t.state.phase).toBe('training');
  return t.state;
}

describe('round state machine', () => {
  it('sends assignments with the fit deadline when a round starts', () => {
    const t = m.startRound(7, 3, ['a', 'b'], limits, 1_000);
    expect(t.effects).toEqual([{ type: 'ask', stage: 'fit', bankIds: ['a', 'b'], deadline: 11_000 }]);
    expect(m.wakeAt(t.state)).toBe(11_000);
  });

  it('fails at once when fewer banks are selected than the quorum needs', () => {
    const t = m.startRound(1, 0, ['a'], limits, 0);
    expect(t.state.phase).toBe('failed');
    const why = 'only 1 bank(s) selected, quorum needs 2';
    expect(t.effects[0]).toEqual({ type: 'fail', reason: why, forBanks: why });
  });

  it('aggregates as soon as every selected bank has reported', () => {
    let s = started(['a', 'b']);
    s = m.updateAccepted(s, 'a', 2_000).state;
    const t = m.updateAccepted(s, 'b', 2_500);
    expect(t.state.phase).toBe('aggregating');
    expect(t.effects).toEqual([{ type: 'aggregate' }]);
  });

  it('waits the grace period after quorum, then closes the fit stage', () => {
    let s = started();
    s = m.updateAccepted(s, 'a', 2_000).state;
    s = m.updateAccepted(s, 'b', 3_000).state;
    expect(s.phase).toBe('training');
    expect(m.wakeAt(s)).toBe(4_000);
    expect(m.tick(s, 3_999).state.phase).toBe('training');
    const t = m.tick(s, 4_000);
    expect(t.state.phase).toBe('aggregating');
  });

  it('fails with a reason naming the missing banks when the deadline passes without quorum', () => {
    let s = started();
    s = m.updateAccepted(s, 'a', 2_000).state;
    const t = m.tick(s, 11_000);
    expect(t.state.phase).toBe('failed');
    expect(t.state.failureReason).toMatch(/quorum not reached: 1 of 2 required updates/);
    expect(t.state.failureReason).toContain('b: no update before the fit stage closed');
  });

  it('fails early when disconnections make the quorum unreachable', () => {
    let s = started(['a', 'b']);
    const t = m.bankLost(s, 'b', 'disconnected', 1_500);
    expect(t.state.phase).toBe('failed');
    expect(t.state.failureReason).toContain('b: disconnected');
    s = started(['a', 'b', 'c']);
    expect(m.bankLost(s, 'c', 'disconnected', 1_500).state.phase).toBe('training');
  });

  it('judges updates: stale round, not selected, duplicate, late, wrong model version', () => {
    let s = started(['a', 'b', 'c']);
    expect(m.judgeUpdate(s, 'a', 6, 3, 2_000)).toEqual({
      accepted: false,
      reason: 'stale round id 6 (current round is 7)',
    });
    expect(m.judgeUpdate(s, 'z', 7, 3, 2_000)).toMatchObject({
      accepted: false,
      reason: expect.stringContaining('not selected'),
    });
    expect(m.judgeUpdate(s, 'a', 7, 2, 2_000)).toMatchObject({
      accepted: false,
      reason: expect.stringContaining('model version 2'),
    });
    expect(m.judgeUpdate(s, 'a', 7, 3, 2_000)).toEqual({ accepted: true });
    s = m.updateAccepted(s, 'a', 2_000).state;
    expect(m.judgeUpdate(s, 'a', 7, 3, 2_100)).toMatchObject({
      accepted: false,
      reason: expect.stringContaining('duplicate'),
    });
    s = m.updateAccepted(s, 'b', 2_200).state;
    // Quorum at 2_200, grace 1_000: c is late after 3_200 even though the deadline is later.
    expect(m.judgeUpdate(s, 'c', 7, 3, 3_300)).toMatchObject({
      accepted: false,
      reason: expect.stringMatching(/^late/),
    });
  });

  it('runs evaluation, commits when all evaluators answered or at the evaluation deadline', () => {
    let s = started(['a', 'b']);
    s = m.updateAccepted(s, 'a', 2_000).state;
    s = m.updateAccepted(s, 'b', 2_000).state;
    let t = m.aggregated(s, ['a', 'b'], 2_010);
    expect(t.effects).toEqual([{ type: 'ask', stage: 'evaluate', bankIds: ['a', 'b'], deadline: 7_010 }]);
    s = t.state;
    expect(m.judgeEvaluation(s, 'c', 7)).toMatchObject({ accepted: false });
    s = m.evaluationAccepted(s, 'a', 2_500).state;
    expect(m.judgeEvaluation(s, 'a', 7)).toMatchObject({
      accepted: false,
      reason: expect.stringContaining('duplicate'),
    });
    t = m.evaluationAccepted(s, 'b', 2_600);
    expect(t.state.phase).toBe('committed');
    expect(t.effects).toEqual([{ type: 'commit' }]);

    const timed = m.tick(
      m.evaluationAccepted(
        m.aggregated(
          m.updateAccepted(m.updateAccepted(started(['a', 'b']), 'a', 1).state, 'b', 1).state,
          ['a', 'b'],
          10,
        ).state,
        'a',
        20,
      ).state,
      5_010,
    );
    expect(timed.state.phase).toBe('committed');
  });

  it('an evaluator that disconnects is not waited for', () => {
    let s = started(['a', 'b']);
    s = m.updateAccepted(s, 'a', 2_000).state;
    s = m.updateAccepted(s, 'b', 2_000).state;
    s = m.aggregated(s, ['a', 'b'], 2_010).state;
    s = m.evaluationAccepted(s, 'a', 2_100).state;
    expect(m.bankLost(s, 'b', 'disconnected', 2_200).state.phase).toBe('committed');
  });

  it('abort fails an unfinished round and leaves a finished one alone', () => {
    const s = started();
    const t = m.abortRound(s, 'stopped by admin', 5_000);
    expect(t.state.phase).toBe('failed');
    expect(t.state.failureReason).toBe('stopped by admin');
    expect(m.abortRound(t.state, 'again', 6_000).effects).toEqual([]);
    expect(m.isFinished(t.state)).toBe(true);
  });

  it('records when each phase was entered', () => {
    let s = started(['a', 'b'], 100);
    s = m.updateAccepted(s, 'a', 200).state;
    s = m.updateAccepted(s, 'b', 300).state;
    s = m.aggregated(s, [], 350).state;
    expect(s.phaseTimes).toEqual({ selecting: 100, training: 100, aggregating: 300, evaluating: 350, committed: 350 });
  });
  // An answer read after a hold of the event loop counts as arriving at the deadline it was held
  // past (federation/frames.ts); the stage it closes must not pass the hold on to the next one.
  it('a stage closed by an answer judged before a hold opens the next one at the real time, with its whole timeout', () => {
    const workflow = secaggWorkflow(10_000, 3_000, 5_000);
    let s = m.startRound(7, 3, ['a', 'b'], limits, 1_000, workflow).state;
    expect(m.wakeAt(s)).toBe(4_000);
    s = m.stageAnswered(s, 'a', 2_000, 2_000).state;
    // b's keys came before the deadline (4,000) but were read at 6,500, after a hold.
    const t = m.stageAnswered(s, 'b', 4_000, 6_500);
    expect(m.trainingStage(t.state).name).toBe('share_keys');
    expect(t.effects).toEqual([{ type: 'ask', stage: 'share_keys', bankIds: ['a', 'b'], deadline: 9_500 }]);
    expect(m.wakeAt(t.state)).toBe(9_500);
    // The closed stage keeps the answer's judged time.
    expect(t.state.stages[0]!.closedTime).toBe(4_000);
    // The same for an evaluation stage and for the phase times.
    let e = m.startRound(8, 3, ['a', 'b'], limits, 1_000).state;
    e = m.updateAccepted(e, 'a', 2_000).state;
    e = m.updateAccepted(e, 'b', 2_500, 2_600).state;
    expect(e.phaseTimes.aggregating).toBe(2_600);
    const ev = m.aggregated(e, ['a', 'b'], 2_700).state;
    expect(m.wakeAt(ev)).toBe(7_700);
    // b's evaluation came before the deadline (7,700) but was read at 9,000: the commit is entered then.
    const ev2 = m.evaluationAccepted(m.evaluationAccepted(ev, 'a', 3_000).state, 'b', 7_700, 9_000);
    expect(ev2.state.phaseTimes.committed).toBe(9_000);
    // The secure evaluation's stages: eval_share_keys opens when the answer closing eval_advertise_keys is read.
    let v = m.startRound(10, 3, ['a', 'b'], limits, 0, workflow).state;
    for (let k = 0; k < workflow.stages.length; k++) {
      v = m.stageAnswered(v, 'a', 10 * k + 1).state;
      v = m.stageAnswered(v, 'b', 10 * k + 2).state;
    }
    v = m.aggregated(v, ['a', 'b'], 100).state; // eval_advertise_keys, deadline 3,100
    v = m.stageAnswered(v, 'a', 200).state;
    expect(m.stageAnswered(v, 'b', 3_100, 5_600).effects).toEqual([
      { type: 'ask', stage: 'eval_share_keys', bankIds: ['a', 'b'], deadline: 8_600 },
    ]);
    // Without a hold (the default), the judged time is the real time.
    const plain = m.stageAnswered(
      m.stageAnswered(m.startRound(9, 3, ['a', 'b'], limits, 0, workflow).state, 'a', 10).state,
      'b',
      20,
    );
    expect(plain.effects).toEqual([{ type: 'ask', stage: 'share_keys', bankIds: ['a', 'b'], deadline: 3_020 }]);
  });
});
