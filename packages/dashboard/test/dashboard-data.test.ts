/**
 * A REST snapshot racing the live stream: a round that commits while the snapshot loads must
 * still show (the CI run where the page showed 2 of 3 committed rounds until a reload).
 */
import { describe, expect, it } from 'vitest';
import {
  applyLiveEvent,
  AUDIT_TAIL,
  mergeAuditTail,
  snapshotWithEvents,
  type LiveChange,
  type LiveData,
} from '../src/lib/dashboard-data.js';

interface Round {
  id: number;
  status: string;
}
type Data = LiveData<string, Round, { id: string }, { seq: number }>;
type Change = LiveChange<string, Round, { id: string }, { seq: number }>;

const EMPTY: Data = { status: null, rounds: [], banks: [], audit: [] };
const round = (id: number, status: string): Round => ({ id, status });
const roundEvent = (id: number, status: string): Change => ({ type: 'round', round: round(id, status) });
const statuses = (d: Data) => d.rounds.map((r) => `${r.id}:${r.status}`);

describe('dashboard data: snapshot and live events', () => {
  it('keeps a round that committed while the snapshot loaded', () => {
    // The snapshot's /api/rounds answered while round 3 trained; round 3 committed before the
    // snapshot's other requests were done.
    const since = [roundEvent(3, 'committed')];
    const snapshot = { ...EMPTY, rounds: [round(1, 'committed'), round(2, 'committed'), round(3, 'training')] };
    expect(statuses(snapshotWithEvents(snapshot, since))).toEqual(['1:committed', '2:committed', '3:committed']);
    // Laying the snapshot over what the event had shown would have lost it:
    expect(statuses(snapshot)).toContain('3:training');
  });

  it('replays in order, so an event older than the snapshot is overtaken by the newer one', () => {
    const snapshot = { ...EMPTY, rounds: [round(1, 'committed')] };
    const shown = snapshotWithEvents(snapshot, [roundEvent(2, 'training'), roundEvent(2, 'committed')]);
    expect(statuses(shown)).toEqual(['1:committed', '2:committed']);
  });

  it('takes the latest status and banks, and adds an audit entry once', () => {
    const shown = snapshotWithEvents({ ...EMPTY, status: 'running', audit: [{ seq: 7 }] }, [
      { type: 'status', status: 'finished' },
      { type: 'bank', bank: { id: 'b' } },
      { type: 'bank', bank: { id: 'a' } },
      { type: 'audit', entry: { seq: 7 } },
      { type: 'audit', entry: { seq: 8 } },
    ] as Change[]);
    expect(shown.status).toBe('finished');
    expect(shown.banks.map((b) => b.id)).toEqual(['a', 'b']);
    expect(shown.audit.map((e) => e.seq)).toEqual([7, 8]);
  });

  it('leaves the data as it is for an event it does not show', () => {
    const data = { ...EMPTY, rounds: [round(1, 'committed')] };
    expect(applyLiveEvent(data, { type: 'hello' })).toBe(data);
  });

  it('keeps the audit entries that arrived live while the tail reloaded (check the chain again)', () => {
    // The tail answered with 1..3; entries 4 and 5 came over the stream meanwhile.
    const shown = [1, 2, 3, 4, 5].map((seq) => ({ seq }));
    const loaded = [1, 2, 3].map((seq) => ({ seq, fresh: true }));
    const merged = mergeAuditTail(shown, loaded);
    expect(merged.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(merged[0]).toEqual({ seq: 1, fresh: true }); // the reload's copy of an entry both hold
    const long = Array.from({ length: AUDIT_TAIL + 10 }, (_, i) => ({ seq: i + 1 }));
    expect(mergeAuditTail(long, [{ seq: AUDIT_TAIL + 11 }]).map((e) => e.seq)).toEqual(
      Array.from({ length: AUDIT_TAIL }, (_, i) => i + 12),
    );
  });
});
