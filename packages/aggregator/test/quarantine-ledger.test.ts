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
  type QuarantineLifts,
  type QuarantineState,
} from '../src/reputation/index.js';
import { DEFAULT_TRAINING } from '../src/config/schema.js';
import { parseStoredSettings } from '../src/federation/settings.js';
import { DEFAULT_RULES } from '../src/round/rules.js';

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

describe('excludedIn, which the ledger and the brute-force reference below both read', () => {
  it('is pinned case by case: a zero weight or a reputation exclusion is excluded; no weight is no update', () => {
    const r = round(1, {
      zero: { weight: 0 },
      flagged: { weight: 0.5, excluded: 'norm: above the bound' },
      both: out,
      kept: ok,
      absent: {},
    });
    expect(['zero', 'flagged', 'both', 'kept', 'absent', 'not-selected'].map((b) => excludedIn(r, b))).toEqual([
      true,
      true,
      true,
      false,
      null,
      null,
    ]);
  });
});

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
    // A replay looks at each bank's current run: a's run of rounds 1–2 ended at round 3; its
    // current one (4, 5, 7) reached 2 at round 5.
    expect([...replay([...rounds].reverse(), 2).quarantined()]).toEqual([
      ['a', { sinceRound: 5, streak: 2 }],
      ['b', { sinceRound: 4, streak: 2 }],
    ]);
  });

  it('a lift restarts the count after the round it names', () => {
    const lifts = { a: { at: 1, by: 'alice', afterRound: 5 } };
    expect(replay(rounds, 3, lifts).stateOf('a')).toEqual({ quarantined: false, streak: 1, sinceRound: null });
    const later = [...rounds, round(8, { a: out }), round(9, { a: out })];
    const ledger = replay(later, 3, lifts);
    expect(ledger.quarantined().get('a')).toEqual({ sinceRound: 9, streak: 3 });
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

  it('a stored quarantine holds after its rounds left the history, while its streak meets the rule, until a lift after it', () => {
    const held = { a: { sinceRound: 2, streak: 2 } };
    const recent = [round(600, { b: ok })]; // a is not selected while quarantined: no entries
    expect(replay(recent, 2, {}, held).stateOf('a')).toEqual({ quarantined: true, streak: 2, sinceRound: 2 });
    expect(replay(recent, 1, {}, held).stateOf('a').quarantined).toBe(true); // a lower rule: still met
    expect(replay(recent, 3, {}, held).stateOf('a').quarantined).toBe(false); // a higher rule releases it
    expect(replay(recent, null, {}, held).stateOf('a').quarantined).toBe(false); // the rule is off
    const lift = { a: { at: 5, by: 'alice', afterRound: 599 } };
    expect(replay(recent, 2, lift, held).stateOf('a')).toEqual({ quarantined: false, streak: 0, sinceRound: null });
  });

  it('counts a streak over the last 500 rounds only', () => {
    const ledger = new QuarantineLedger(3);
    ledger.commit(round(1, { x: out }));
    ledger.commit(round(2, { x: out }));
    for (let id = 3; id <= 600; id++) ledger.commit(round(id, { y: ok })); // x offline meanwhile
    expect(ledger.stateOf('x').streak).toBe(0); // rounds 1 and 2 left the window
    expect(ledger.commit(round(601, { x: out }))).toEqual([]);
    expect(ledger.stateOf('x')).toEqual({ quarantined: false, streak: 1, sinceRound: null });
    // Within the window the same absence does not break the streak.
    const near = new QuarantineLedger(3);
    near.commit(round(1, { x: out }));
    near.commit(round(2, { x: out }));
    for (let id = 3; id <= 400; id++) near.commit(round(id, { y: ok }));
    expect(near.commit(round(401, { x: out }))).toEqual([{ bankId: 'x', streak: 3 }]);
  });

  it('counts the window in rounds, not ids: an id never stored does not narrow it', () => {
    const ledger = new QuarantineLedger(3, {}, {}, 3);
    ledger.commit(round(1, { x: out }));
    // Round id 2 was handed out, but the aggregator stopped before the round was stored.
    ledger.commit(round(3, { x: out }));
    expect(ledger.commit(round(4, { x: out }))).toEqual([{ bankId: 'x', streak: 3 }]);
    // A replay of the same stored rounds agrees.
    const stored = [round(1, { x: out }), round(3, { x: out }), round(4, { x: out })];
    expect(QuarantineLedger.replay(stored, {}, {}, 3, 3).stateOf('x')).toEqual({
      quarantined: true,
      streak: 3,
      sinceRound: 4,
    });
  });

  it('a replay skips a round still in flight, so that its commit is counted when it comes', () => {
    // The federation saves the round in flight as it goes; a rebuild mid-round reads it.
    const stored = [round(1, { x: out }), round(2, { x: out }, 'evaluating')];
    const ledger = QuarantineLedger.replay(stored, {}, {}, 2);
    expect(ledger.stateOf('x')).toEqual({ quarantined: false, streak: 1, sinceRound: null });
    expect(ledger.commit(round(2, { x: out }))).toEqual([{ bankId: 'x', streak: 2 }]);
  });

  it('a failed round moves the window but counts no update', () => {
    const ledger = new QuarantineLedger(2, {}, {}, 3);
    ledger.commit(round(1, { x: out }));
    ledger.commit(round(2, { x: out }, 'failed'));
    ledger.commit(round(3, { x: out }, 'failed'));
    expect(ledger.stateOf('x').streak).toBe(1);
    ledger.commit(round(4, { y: ok }, 'failed')); // round 1 leaves the 3-round window
    expect(ledger.stateOf('x').streak).toBe(0);
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

/**
 * The reference, recounted from the rounds at every step (at a rebuild and at each commit, each
 * bank's trailing run of exclusions within the window, as the aggregator's recount decided at a
 * commit), with the stored quarantines it keeps.
 */
class Reference {
  held: QuarantineHeld = {};
  constructor(
    private readonly rounds: RoundRecord[],
    private readonly lifts: QuarantineLifts,
    private readonly window: number,
  ) {}

  /** b's counted rounds in the window ending at round `to`: the last `window` stored rounds up to it. */
  private counted(b: string, to: number): RoundRecord[] {
    const after = this.lifts[b]?.afterRound ?? -Infinity;
    return this.rounds
      .filter((r) => r.id <= to)
      .slice(-this.window)
      .filter((r) => r.id > after && r.status === 'committed' && excludedIn(r, b) !== null);
  }

  private honoured(b: string, rule: number | null): boolean {
    const h = this.held[b];
    return (
      rule !== null && rule > 0 && !!h && h.streak >= rule && h.sinceRound > (this.lifts[b]?.afterRound ?? -Infinity)
    );
  }

  /** A rebuild before round `next`: each bank's current run over the stored rounds older than it. */
  rebuild(banks: string[], rule: number | null, next: number): void {
    if (rule === null || rule <= 0) return;
    for (const b of banks) {
      if (this.honoured(b, rule)) continue;
      const rs = this.counted(b, next - 1);
      const run: number[] = [];
      for (const r of rs) {
        if (excludedIn(r, b)) run.push(r.id);
        else run.length = 0;
      }
      if (run.length >= rule) this.held[b] = { sinceRound: run[rule - 1]!, streak: rule };
    }
  }

  /** The trailing run of exclusions of b within the window ending at round `newest`. */
  trailing(b: string, newest: number): number {
    const rs = this.counted(b, newest);
    let n = 0;
    for (let i = rs.length - 1; i >= 0 && excludedIn(rs[i]!, b); i--) n++;
    return n;
  }

  /** Round `id` committed (or failed): the banks it quarantined. */
  commit(banks: string[], rule: number | null, id: number): string[] {
    const r = this.rounds.find((x) => x.id === id)!;
    if (r.status !== 'committed' || rule === null || rule <= 0) return [];
    const newly: string[] = [];
    for (const b of banks) {
      if (this.honoured(b, rule) || !excludedIn(r, b) || id <= (this.lifts[b]?.afterRound ?? -Infinity)) continue;
      const n = this.trailing(b, id);
      if (n >= rule) {
        this.held[b] = { sinceRound: id, streak: n };
        newly.push(b);
      }
    }
    return newly;
  }

  stateOf(b: string, rule: number | null, newest: number): QuarantineState {
    if (this.honoured(b, rule))
      return { quarantined: true, streak: this.held[b]!.streak, sinceRound: this.held[b]!.sinceRound };
    return { quarantined: false, streak: this.trailing(b, newest), sinceRound: null };
  }
}

describe('QuarantineLedger against the reference, random histories', () => {
  const banks = ['a', 'b', 'c', 'd', 'e'];
  const WINDOW = 12;

  it('rebuilt at every lift and rule change, then counting round by round, agrees with the recount', () => {
    let quarantinedSeen = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const rng = createRng(seed);
      const rounds: RoundRecord[] = [];
      const lifts: QuarantineLifts = {};
      const ref = new Reference(rounds, lifts, WINDOW);
      let rule: number | null = 2;
      let ledger: QuarantineLedger | null = null;
      for (let id = 1; id <= 80; id++) {
        // Between rounds: now and then a lift or a new rule, after which the federation rebuilds.
        if (rng.next() < 0.08) rule = [null, 1, 2, 3, 5][Math.floor(rng.next() * 5)]!;
        if (rng.next() < 0.06) {
          const b = banks[Math.floor(rng.next() * banks.length)]!;
          lifts[b] = { at: id, by: 'x', afterRound: id - 1 };
          delete ref.held[b];
          ledger = null;
        }
        if (!ledger || ledger.afterExclusions !== rule) {
          ledger = QuarantineLedger.replay(rounds.slice(-WINDOW), lifts, { ...ref.held }, rule, WINDOW);
          ref.rebuild(banks, rule, id);
          for (const [b, h] of ledger.quarantined())
            expect(ref.held[b], `seed ${seed}, rebuild before ${id}, ${b}`).toEqual(h);
        }
        // Now and then an id is handed out to a round that is never stored (the aggregator
        // stopped before writing it): the window counts stored rounds, so it must not narrow.
        if (rng.next() < 0.1) continue;
        const entries: Record<string, { weight?: number; excluded?: string }> = {};
        for (const b of banks) {
          const u = rng.next();
          if (u < 0.15 || ledger.stateOf(b).quarantined) continue; // not selected
          if (u < 0.25)
            entries[b] = {}; // selected, no update
          else if (u < 0.65) entries[b] = rng.next() < 0.5 ? { weight: 0 } : { weight: 0.3, excluded: 'trimmed' };
          else entries[b] = { weight: 0.2 };
        }
        rounds.push(round(id, entries, rng.next() < 0.1 ? 'failed' : 'committed'));
        const newly = ledger.commit(rounds.at(-1)!).map((n) => n.bankId);
        expect(newly, `seed ${seed}, round ${id}`).toEqual(ref.commit(banks, rule, id));
        for (const b of banks) {
          const want = ref.stateOf(b, rule, id);
          expect(ledger.stateOf(b), `seed ${seed}, round ${id}, bank ${b}`).toEqual(want);
          if (want.quarantined) quarantinedSeen++;
        }
      }
    }
    expect(quarantinedSeen).toBeGreaterThan(1000); // the histories do exercise the rule
  });
});

describe('stored settings of earlier versions', () => {
  it('a quarantine rule above the 500-round history, which could never be met, is read as off', () => {
    const settings = {
      training: DEFAULT_TRAINING,
      rules: { ...DEFAULT_RULES, strategy: 'multikrum', byzantineF: 1, minBanks: 5, quorum: 5 },
    };
    expect(
      parseStoredSettings({ ...settings, rules: { ...settings.rules, quarantineAfterExclusions: 600 } })?.rules
        .quarantineAfterExclusions,
    ).toBeNull();
    expect(
      parseStoredSettings({ ...settings, rules: { ...settings.rules, quarantineAfterExclusions: 500 } })?.rules
        .quarantineAfterExclusions,
    ).toBe(500);
  });
});
