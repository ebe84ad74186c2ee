/**
 * A REST snapshot racing the live stream: a round that commits while the snapshot loads must
 * still show (the CI run where the page showed 2 of 3 committed rounds until a reload).
 */
import { describe, expect, it } from 'vitest';
import { applyLiveEvent, EMPTY, snapshotWithEvents, type DashboardData } from '../src/lib/dashboard-data.js';
import type { LiveEvent, RoundRecord } from '../src/lib/types.js';

const round = (id: number, status: string): RoundRecord =>
  ({ id, status, banks: {}, config: {} }) as unknown as RoundRecord;
const roundEvent = (id: number, status: string): LiveEvent =>
  ({ type: 'round', round: round(id, status) }) as LiveEvent;
const statuses = (d: DashboardData) => d.rounds.map((r) => `${r.id}:${r.status}`);

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

  it('adds an audit entry once, whether the snapshot already had it or not', () => {
    const entry = { seq: 7 } as never;
    const event = { type: 'audit', entry } as LiveEvent;
    const withIt = snapshotWithEvents({ ...EMPTY, audit: [entry] }, [event]);
    expect(withIt.audit).toHaveLength(1);
    expect(snapshotWithEvents(EMPTY, [event]).audit).toHaveLength(1);
  });

  it('leaves the data as it is for an event it does not show', () => {
    const data = { ...EMPTY, rounds: [round(1, 'committed')] };
    expect(applyLiveEvent(data, { type: 'hello', role: 'admin' } as LiveEvent)).toBe(data);
  });
});
