/**
 * The pull protocol of the fit upload (issue 14 item 2), over real sockets: banks offer their
 * update (`update_offer`) and send it only after an `upload_grant`; at most K uploads are granted
 * at once, the slot passes on when an update is in the accumulator, an ungranted update is
 * refused, offers are judged by their own arrival time, and a granted bank that never uploads
 * is dropped while the round commits with the others. (These rounds turn off the pre-grant, which
 * would let the small MLP updates skip the offer.) Then the pre-grant itself: a round whose updates
 * fit in `uploadPreGrantBytes` together grants every upload in its assignment, and a bank's update
 * without an offer is taken; one larger than granted, a second one, or one from a bank not
 * selected is refused without dropping anyone.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBank, startTestAggregator, updateAccepted, waitFor, waitRounds } from './helpers/federation.js';
import { rawFixture } from './helpers/raw-fixture.js';
import { RawBank, updateMessage } from './helpers/raw-bank.js';

const PARAMS = 4097; // the default 30-64-32-1 MLP
const delta = () => [{ name: 'update', shape: [PARAMS], data: new Float32Array(PARAMS).fill(1e-3) }];

/** Waits until `cond` holds, polling every 10 ms (the aggregator's counters change on its own queue). */
const until = (what: string, cond: () => boolean, timeoutMs = 15_000) => waitFor(what, cond, timeoutMs, 10);

const hasGrant = (b: RawBank) => b.received.some((r) => r.msg.type === 'upload_grant');

/** An aggregator in `fx` with one round for raw banks `ids`, joined; `rules` over the defaults below. */
async function startRaw(
  fx: ReturnType<typeof rawFixture>,
  name: string,
  ids: string[],
  rules: Record<string, unknown>,
): Promise<RawBank[]> {
  fx.agg = await startTestAggregator(path.join(fx.dir, name), {
    autoStart: true,
    // Raw banks do not evaluate: the evaluation stage closes at its (short) deadline.
    rules: { rounds: 1, minBanks: ids.length, quorum: ids.length, evaluationTimeoutMs: 200, ...rules } as never,
  });
  for (const id of ids) {
    const token = await createBank(fx.agg, id);
    fx.banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token));
  }
  return fx.banks;
}

describe('fit uploads: offer, grant, upload', () => {
  const fx = rawFixture();
  // The pull protocol itself: no upload granted in advance.
  const start = (name: string, ids: string[], rules: Record<string, unknown>) =>
    startRaw(fx, name, ids, { uploadPreGrantBytes: 0, ...rules });

  it('grants at most K = 2 uploads at a time and passes each slot on once the update is in', async () => {
    const ids = ['b1', 'b2', 'b3', 'b4', 'b5'];
    const all = await start('k2', ids, { uploadSlots: 2 });
    const assignments = await Promise.all(all.map((b) => b.next('round_assignment')));
    // Every bank offers; none uploads until the test says so (the test is the bank here).
    all.forEach((b, i) => b.send(updateMessage(assignments[i]!.msg), delta(), 'offer-only'));
    await until('2 grants and 3 offers waiting', () => {
      const s = fx.agg!.federation.uploadStats();
      return s.inFlight === 2 && s.waiting === 3;
    });
    await until('2 banks granted', () => all.filter(hasGrant).length === 2);
    const uploaded = new Set<RawBank>();
    let maxOutstanding = 0;
    while (uploaded.size < all.length) {
      const granted = all.filter((b) => hasGrant(b) && !uploaded.has(b));
      maxOutstanding = Math.max(maxOutstanding, granted.length);
      expect(granted.length).toBeLessThanOrEqual(2);
      const b = granted[0]!;
      const i = all.indexOf(b);
      b.send(updateMessage(assignments[i]!.msg), delta(), 'ungranted'); // granted: the frame itself
      uploaded.add(b);
      await updateAccepted(fx.agg!, ids[i]!, assignments[i]!.msg.roundId);
      // The slot passed on: one more bank is granted, until none is left waiting.
      const expected = Math.min(all.length, uploaded.size + 2);
      await until(`${expected} banks granted`, () => all.filter(hasGrant).length === expected);
      expect(fx.agg!.federation.uploadStats().inFlight).toBeLessThanOrEqual(2);
    }
    expect(maxOutstanding).toBe(2);
    const stats = fx.agg!.federation.uploadStats();
    expect(stats.peakInFlight).toBe(2);
    expect(stats.granted).toBe(5);
    const rounds = await waitRounds(fx.agg!, (rs) => rs.some((r) => r.status === 'committed'), 'a committed round');
    expect([...rounds[0]!.participants].sort()).toEqual(ids);
  });

  it('refuses an update sent without a grant, and one whose offer still waits for a slot', async () => {
    const all = await start('ungranted', ['a', 'b'], { uploadSlots: 1 });
    const [a, b] = all as [RawBank, RawBank];
    const [aa, ab] = await Promise.all([a.next('round_assignment'), b.next('round_assignment')]);
    // No offer at all.
    a.send(updateMessage(aa.msg), delta(), 'ungranted');
    const refused = await a.next('ack');
    expect(refused.msg.accepted).toBe(false);
    expect(refused.msg.reason).toMatch(/no upload grant: send update_offer/);
    // a takes the only slot; b's offer waits, and b's frame sent anyway is refused.
    a.send(updateMessage(aa.msg), delta(), 'offer-only');
    await a.next('upload_grant');
    b.send(updateMessage(ab.msg), delta(), 'offer-only');
    await until('b waiting', () => fx.agg!.federation.uploadStats().waiting === 1);
    b.send(updateMessage(ab.msg), delta(), 'ungranted');
    const early = await b.next('ack');
    expect(early.msg.accepted).toBe(false);
    expect(early.msg.reason).toMatch(/no upload grant \(its offer is still waiting for a slot\)/);
    expect(fx.agg!.federation.uploadStats().ungranted).toBe(2);
    // Neither refusal cost the banks their place: both upload when granted and the round commits.
    a.send(updateMessage(aa.msg), delta(), 'ungranted');
    await updateAccepted(fx.agg!, 'a', aa.msg.roundId);
    await b.next('upload_grant');
    b.send(updateMessage(ab.msg), delta(), 'ungranted');
    await updateAccepted(fx.agg!, 'b', ab.msg.roundId);
    const rounds = await waitRounds(fx.agg!, (rs) => rs.some((r) => r.status === 'committed'), 'a committed round');
    expect([...rounds[0]!.participants].sort()).toEqual(['a', 'b']);
    // Stored (and sealed) as the contributors they became, not as refused by their early frames.
    for (const id of ['a', 'b']) {
      expect(rounds[0]!.banks[id]!.weight).toBeGreaterThan(0);
      expect(rounds[0]!.banks[id]).not.toHaveProperty('rejected');
    }
  });

  it('judges an offer by its own arrival: an upload granted after the deadline counts, a late offer is refused', async () => {
    const all = await start('deadline', ['early', 'queued', 'late'], {
      uploadSlots: 1,
      quorum: 2,
      roundTimeoutMs: 4_000,
      graceMs: 0,
    });
    const [early, queued, late] = all as [RawBank, RawBank, RawBank];
    const [ae, aq, al] = await Promise.all(all.map((b) => b.next('round_assignment')));
    early.send(updateMessage(ae!.msg), delta(), 'offer-only');
    await early.next('upload_grant');
    queued.send(updateMessage(aq!.msg), delta()); // uploads by itself once granted
    await until('queued waiting', () => fx.agg!.federation.uploadStats().waiting === 1);
    // Past the fit deadline: the stage stays open for the two offers that came in time.
    const deadline = Date.now() + ae!.msg.deadlineInMs;
    await until('the fit deadline', () => Date.now() > deadline + 100, 10_000);
    late.send(updateMessage(al!.msg), delta());
    const refused = await late.next('ack');
    expect(refused.msg.accepted).toBe(false);
    expect(refused.msg.reason).toMatch(/^late: the fit stage of round \d+ closed/);
    early.send(updateMessage(ae!.msg), delta(), 'ungranted');
    await updateAccepted(fx.agg!, 'early', ae!.msg.roundId);
    await updateAccepted(fx.agg!, 'queued', aq!.msg.roundId);
    const rounds = await waitRounds(fx.agg!, (rs) => rs.some((r) => r.status === 'committed'), 'a committed round');
    expect([...rounds[0]!.participants].sort()).toEqual(['early', 'queued']);
  });

  it('drops a granted bank that never uploads; the round commits with the others', async () => {
    const all = await start('silent', ['silent', 'x', 'y'], { uploadSlots: 1, quorum: 2, uploadGrantTimeoutMs: 1_500 });
    const [silent, x, y] = all as [RawBank, RawBank, RawBank];
    const [as, ax, ay] = await Promise.all(all.map((b) => b.next('round_assignment')));
    silent.send(updateMessage(as!.msg), delta(), 'offer-only');
    expect((await silent.next('upload_grant')).msg.uploadWithinMs).toBe(1_500);
    x.send(updateMessage(ax!.msg), delta());
    y.send(updateMessage(ay!.msg), delta());
    await updateAccepted(fx.agg!, 'x', ax!.msg.roundId);
    await updateAccepted(fx.agg!, 'y', ay!.msg.roundId);
    const rounds = await waitRounds(fx.agg!, (rs) => rs.some((r) => r.status === 'committed'), 'a committed round');
    expect([...rounds[0]!.participants].sort()).toEqual(['x', 'y']);
    expect(fx.agg!.federation.uploadStats().expired).toBe(1);
    expect(rounds[0]!.banks['silent']!.rejected).toMatch(/no update within the upload grant timeout \(1500 ms\)/);
    // Its frame after the grant expired is refused: it no longer holds a slot.
    silent.send(updateMessage(as!.msg), delta(), 'ungranted');
    expect((await silent.next('ack')).msg.accepted).toBe(false);
  });
});

describe('fit uploads granted in advance', () => {
  const fx = rawFixture();
  const { banks } = fx;
  const start = (name: string, ids: string[], rules: Record<string, unknown>) => startRaw(fx, name, ids, rules);

  it('takes the update of a selected bank without an offer; refuses a second, an oversized, an unselected one and one on another model version, dropping no one; still grants offers', async () => {
    const all = await start('pre-granted', ['x', 'y'], {});
    const [x, y] = all as [RawBank, RawBank];
    const [ax, ay] = await Promise.all([x.next('round_assignment'), y.next('round_assignment')]);
    // A bank that joins during the round is not selected for it.
    const outsider = await RawBank.join(`${fx.agg!.wsUrl}/ws/bank`, 'z', await createBank(fx.agg!, 'z'));
    banks.push(outsider);
    // 2 banks × (frame: 4 × 4,097 + 4,096 header bytes, and a decoded copy: 4 × 4,097) fit in the
    // default 16 MiB: granted in advance.
    expect(ax.msg.preGrantedUpload).toEqual({ maxBytes: 4 * PARAMS + 4096 });
    // Larger than granted, without an offer: refused, and x may still send its real update.
    x.send(
      updateMessage(ax.msg),
      [{ name: 'update', shape: [PARAMS + 2000], data: new Float32Array(PARAMS + 2000) }],
      'ungranted',
    );
    expect((await x.next('ack')).msg.reason).toMatch(/no upload grant: send update_offer/);
    x.send(updateMessage(ax.msg), delta(), 'ungranted');
    await updateAccepted(fx.agg!, 'x', ax.msg.roundId);
    // A second update from x: refused as a duplicate, x keeps its contribution.
    x.send(updateMessage(ax.msg), delta(), 'ungranted');
    expect((await x.next('ack')).msg.reason).toMatch(/^duplicate update from/);
    // The bank not selected: refused, and nothing else happens to the round.
    outsider.send(updateMessage(ax.msg), delta(), 'ungranted');
    expect((await outsider.next('ack')).msg.reason).toMatch(/was not selected for round/);
    // y on another model version: refused by the stage, y stays selected.
    y.send(updateMessage(ay.msg, { modelVersion: ay.msg.modelVersion + 1 }), delta(), 'ungranted');
    expect((await y.next('ack')).msg.reason).toMatch(/^update computed from model version/);
    // Then y offers, as an older bank does: the offer is granted, and its upload taken.
    y.send(updateMessage(ay.msg), delta());
    await y.next('upload_grant');
    await updateAccepted(fx.agg!, 'y', ay.msg.roundId);
    const rounds = await waitRounds(fx.agg!, (rs) => rs.some((r) => r.status === 'committed'), 'a committed round');
    expect([...rounds[0]!.participants].sort()).toEqual(['x', 'y']);
    const stats = fx.agg!.federation.uploadStats();
    expect(stats.granted).toBe(1);
    // x's update and duplicate, the outsider's and y's on another version passed the upload check
    // (the stage refused the last three); x's oversized one did not.
    expect(stats.preGranted).toBe(4);
    expect(stats.ungranted).toBe(1);
  });

  it('grants nothing in advance when the updates of the selected banks together exceed uploadPreGrantBytes', async () => {
    // 2 × (20,484 + 16,388) bytes is over 40,000: offer first, as an older aggregator asks.
    const all = await start('over-budget', ['u', 'v'], { uploadPreGrantBytes: 40_000 });
    const [au, av] = await Promise.all(all.map((b) => b.next('round_assignment')));
    expect(au!.msg.preGrantedUpload).toBeUndefined();
    all[0]!.send(updateMessage(au!.msg), delta(), 'ungranted');
    expect((await all[0]!.next('ack')).msg.reason).toMatch(/no upload grant: send update_offer/);
    all[0]!.send(updateMessage(au!.msg), delta());
    all[1]!.send(updateMessage(av!.msg), delta());
    const rounds = await waitRounds(fx.agg!, (rs) => rs.some((r) => r.status === 'committed'), 'a committed round');
    expect([...rounds[0]!.participants].sort()).toEqual(['u', 'v']);
    expect(fx.agg!.federation.uploadStats().granted).toBe(2);
  });
});
