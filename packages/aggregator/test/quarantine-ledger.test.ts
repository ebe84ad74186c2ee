/**
 * The quarantine rule (reputation/quarantine.ts) as the federation counts it, round by round
 * (reputation/quarantine-ledger.ts): worked examples, then a brute-force reference (every bank's
 * streak recounted over all rounds, as the aggregator computed it before the ledger) on random
 * histories with lifts and stored quarantines.
 */
import { describe, expect, it } from 'vitest';
import type { RoundRecord } from '@finsecure/common/api';
import { createRng } from '@finsecure/common/rng';
import {
  excludedIn,
  parseHeld,
  parseLifts,
  QuarantineLedger,
  quarantineView,
  type QuarantineHeld,
  type QuarantineLift,
  type QuarantineLifts,
  type QuarantineState,
} from '../src/reputation/index.js';

function round(
  id: number,
  banks: Record<string, { weight?: number; excluded?: string }>,
  status = 'committed',
): RoundRecord {
  return {
    id,
    status: status as RoundRecord['status'],
    startedAt: id * 1000,
    endedAt: id * 1000 + 500,
    config: {},
    selected: Object.keys(banks),
    participants: Object.keys(banks),
    banks: Object.fromEntries(
      Object.entries(banks).map(([b, v]) => [
        b,
        {
          bytesUp: 0,
          bytesDown: 0,
          ...(v.weight !== undefined ? { weight: v.weight } : {}),
          ...(v.excluded ? { reputation: { excluded: v.excluded } } : {}),
        },
      ]),
    ),
    durations: {},
    baseModelVersion: id - 1,
    modelVersion: status === 'committed' ? id : null,
    metrics: null,
    failureReason: null,
  };
}

/** The reference: the definition recounted over every round for one bank. */
function quarantineOf(
  bankId: string,
  rounds: readonly RoundRecord[],
  lift: QuarantineLift | undefined,
  held: QuarantineHeld[string] | undefined,
  rule: number | null,
): QuarantineState {
  const active = rule !== null && rule > 0;
  if (active && held && held.sinceRound > (lift?.afterRound ?? -Infinity))
    return { quarantined: true, streak: held.streak, sinceRound: held.sinceRound };
  const counted = rounds
    .filter((r) => r.status === 'committed' && r.id > (lift?.afterRound ?? -Infinity))
    .sort((a, b) => a.id - b.id);
  let streak = 0;
  for (const r of counted) {
    const ex = excludedIn(r, bankId);
    if (ex === null) continue;
    streak = ex ? streak + 1 : 0;
    if (active && streak >= rule) return { quarantined: true, streak, sinceRound: r.id };
  }
  return { quarantined: false, streak, sinceRound: null };
}

const out = { weight: 0, excluded: 'krum: not among the lowest' };
const ok = { weight: 0.25 };
const rounds = [
  round(1, { a: out, b: ok }),
  round(2, { a: out, b: ok }),
  round(3, { a: ok, b: out }),
  round(4, { a: out, b: out }),
  round(5, { a: out, b: {} }), // b sat this one out: its streak neither grows nor breaks
  round(6, { a: out, b: out }, 'failed'), // failed rounds do not count
  round(7, { a: out, b: out }),
];
const replay = (rs: readonly RoundRecord[], rule: number | null, lifts: QuarantineLifts = {}, held = {}) =>
  QuarantineLedger.replay(rs, lifts, held, rule);

describe('QuarantineLedger: worked examples', () => {
  it('counts consecutive exclusions over committed rounds with an update', () => {
    expect(excludedIn(rounds[4]!, 'b')).toBeNull();
    // a: excluded in 1, 2, included in 3, excluded in 4, 5, (6 failed), 7.
    expect(replay(rounds, 3).stateOf('a')).toEqual({ quarantined: true, streak: 3, sinceRound: 7 });
    // b: excluded in 3, 4, (5 sat out, 6 failed), 7.
    expect(replay(rounds, 4).stateOf('b')).toEqual({ quarantined: false, streak: 3, sinceRound: null });
    expect(replay(rounds, 3).stateOf('b')).toEqual({ quarantined: true, streak: 3, sinceRound: 7 });
    expect(replay(rounds, 2).stateOf('b')).toEqual({ quarantined: true, streak: 2, sinceRound: 4 });
    expect(replay(rounds, 3).stateOf('never-seen')).toEqual({ quarantined: false, streak: 0, sinceRound: null });
  });

  it('is off with null or 0 (streaks still counted), and takes rounds in any order', () => {
    expect(replay(rounds, null).stateOf('a')).toEqual({ quarantined: false, streak: 3, sinceRound: null });
    expect(replay(rounds, null).quarantined().size).toBe(0);
    expect(replay(rounds, 0).quarantined().size).toBe(0);
    expect([...replay([...rounds].reverse(), 2).quarantined()]).toEqual([
      ['a', 2],
      ['b', 4],
    ]);
  });

  it('a lift restarts the count after the round it names', () => {
    const lifts = { a: { at: 1, by: 'alice', afterRound: 5 } };
    expect(replay(rounds, 3, lifts).stateOf('a')).toEqual({ quarantined: false, streak: 1, sinceRound: null });
    const later = [...rounds, round(8, { a: out }), round(9, { a: out })];
    const ledger = replay(later, 3, lifts);
    expect(ledger.quarantined().get('a')).toBe(9);
    expect(quarantineView(ledger, 'a', lifts.a)).toEqual({
      afterExclusions: 3,
      quarantined: true,
      streak: 3,
      sinceRound: 9,
      lifted: { at: 1, by: 'alice', afterRound: 5 },
    });
  });

  it('commit names the banks a round quarantined, once; repeated and older rounds are not counted again', () => {
    const ledger = replay(rounds.slice(0, 5), 3);
    expect(ledger.commit(rounds[5]!)).toEqual([]); // failed
    expect(ledger.commit(rounds[6]!)).toEqual([
      { bankId: 'a', streak: 3 },
      { bankId: 'b', streak: 3 },
    ]);
    expect(ledger.commit(rounds[6]!)).toEqual([]);
    expect(ledger.commit(round(3, { a: out, b: out }))).toEqual([]);
    expect(ledger.commit(round(8, { a: ok, b: ok }))).toEqual([]);
    expect(ledger.stateOf('a')).toEqual({ quarantined: true, streak: 3, sinceRound: 7 }); // held until lifted
    expect(replay(rounds.slice(0, 6), 2).commit(rounds[6]!)).toEqual([]); // both were quarantined earlier
  });

  it('an included round breaks the streak', () => {
    const r = [round(1, { a: out }), round(2, { a: out }), round(3, { a: ok }), round(4, { a: out })];
    expect(replay(r, 3).stateOf('a')).toEqual({ quarantined: false, streak: 1, sinceRound: null });
  });

  it('a stored quarantine holds after its rounds left the history, until a lift after it', () => {
    const held = { a: { sinceRound: 2, streak: 2 } };
    const recent = [round(600, { b: ok })]; // a is not selected while quarantined: no entries
    expect(replay(recent, 2, {}, held).stateOf('a')).toEqual({ quarantined: true, streak: 2, sinceRound: 2 });
    expect(replay(recent, null, {}, held).stateOf('a').quarantined).toBe(false); // the rule is off
    const lift = { a: { at: 5, by: 'alice', afterRound: 599 } };
    expect(replay(recent, 2, lift, held).stateOf('a')).toEqual({ quarantined: false, streak: 0, sinceRound: null });
  });

  it('parseLifts and parseHeld keep only well-formed entries from the store', () => {
    expect(parseLifts(null)).toEqual({});
    expect(parseLifts({ a: { at: 1, by: 'x', afterRound: 2 }, b: { at: 'no' }, c: null })).toEqual({
      a: { at: 1, by: 'x', afterRound: 2 },
    });
    expect(parseHeld('x')).toEqual({});
    expect(parseHeld({ a: { sinceRound: 3, streak: 2 }, b: { sinceRound: 1.5, streak: 1 }, c: null })).toEqual({
      a: { sinceRound: 3, streak: 2 },
    });
  });
});

describe('QuarantineLedger against the reference, random histories', () => {
  const banks = ['a', 'b', 'c', 'd', 'e'];

  function history(seed: number) {
    const rng = createRng(seed);
    const rs: RoundRecord[] = [];
    for (let id = 1; id <= 60; id++) {
      const entries: Record<string, { weight?: number; excluded?: string }> = {};
      for (const b of banks) {
        const u = rng.next();
        if (u < 0.15) continue; // not selected
        if (u < 0.25)
          entries[b] = {}; // selected, no update
        else if (u < 0.6) entries[b] = rng.next() < 0.5 ? { weight: 0 } : { weight: 0.3, excluded: 'trimmed' };
        else entries[b] = { weight: 0.2 };
      }
      rs.push(round(id, entries, rng.next() < 0.1 ? 'failed' : 'committed'));
    }
    const lifts: QuarantineLifts = {};
    const held: QuarantineHeld = {};
    for (const b of banks) {
      if (rng.next() < 0.4) lifts[b] = { at: 1, by: 'x', afterRound: Math.floor(rng.next() * 60) };
      if (rng.next() < 0.3)
        held[b] = { sinceRound: Math.floor(rng.next() * 60), streak: 1 + Math.floor(rng.next() * 4) };
    }
    return { rs, lifts, held, rule: [null, 1, 2, 3, 5][Math.floor(rng.next() * 5)]! };
  }

  it('replay and round-by-round commits agree with the reference for every bank', () => {
    let quarantinedSeen = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const { rs, lifts, held, rule } = history(seed);
      const replayed = QuarantineLedger.replay([...rs].reverse(), lifts, held, rule);
      const stepped = new QuarantineLedger(rule, lifts, held);
      const newly = new Map<string, number>();
      for (const r of rs) for (const n of stepped.commit(r)) newly.set(n.bankId, r.id);
      for (const b of banks) {
        const want = quarantineOf(b, rs, lifts[b], held[b], rule);
        expect(replayed.stateOf(b), `seed ${seed}, bank ${b}`).toEqual(want);
        expect(stepped.stateOf(b), `seed ${seed}, bank ${b}`).toEqual(want);
        // A quarantine the rounds began (not a stored one) was reported by the round that began it.
        const fromRounds = want.quarantined && stepped.stateOf(b).sinceRound !== held[b]?.sinceRound;
        if (fromRounds) expect(newly.get(b)).toBe(want.sinceRound);
        if (want.quarantined) quarantinedSeen++;
      }
    }
    expect(quarantinedSeen).toBeGreaterThan(100); // the histories do exercise the rule
  });
});
