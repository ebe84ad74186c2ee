/**
 * How live events change the dashboard's data: pure, so that the order problems of a REST snapshot
 * racing the live stream can be tested without a browser. The shapes are declared here, only as
 * far as these helpers read them (types.ts has the full ones), so the helpers import nothing and
 * are tested as they are.
 */

export const ROUND_HISTORY = 500;
export const AUDIT_TAIL = 200;

/** The parts of the dashboard's data live events change. */
export interface LiveData<S, R extends { id: number }, B extends { id: string }, A extends { seq: number }> {
  status: S | null;
  /** Oldest first. */
  rounds: R[];
  banks: B[];
  audit: A[];
}

/** A live event as these helpers read it (others, such as `hello`, change nothing). */
export type LiveChange<S, R, B, A> =
  | { type: 'status'; status: S }
  | { type: 'round'; round: R }
  | { type: 'bank'; bank: B }
  | { type: 'audit'; entry: A }
  | { type: string };

function upsertRound<R extends { id: number }>(rounds: R[], round: R): R[] {
  const i = rounds.findIndex((r) => r.id === round.id);
  if (i >= 0) {
    const next = rounds.slice();
    next[i] = round;
    return next;
  }
  const next = [...rounds, round].sort((a, b) => a.id - b.id);
  return next.length > ROUND_HISTORY ? next.slice(next.length - ROUND_HISTORY) : next;
}

function upsertBank<B extends { id: string }>(banks: B[], bank: B): B[] {
  const i = banks.findIndex((b) => b.id === bank.id);
  if (i < 0) return [...banks, bank].sort((a, b) => a.id.localeCompare(b.id));
  const next = banks.slice();
  next[i] = bank;
  return next;
}

/** `data` after one live event (events of other types leave it as it is). */
export function applyLiveEvent<
  S,
  R extends { id: number },
  B extends { id: string },
  A extends { seq: number },
  D extends LiveData<S, R, B, A>,
>(data: D, event: LiveChange<S, R, B, A>): D {
  if ('status' in event && event.type === 'status') return { ...data, status: event.status };
  if ('round' in event && event.type === 'round') return { ...data, rounds: upsertRound(data.rounds, event.round) };
  if ('bank' in event && event.type === 'bank') return { ...data, banks: upsertBank(data.banks, event.bank) };
  if ('entry' in event && event.type === 'audit') {
    const entry = event.entry;
    if (data.audit.some((e) => e.seq === entry.seq)) return data;
    const audit = [...data.audit, entry];
    return { ...data, audit: audit.length > AUDIT_TAIL ? audit.slice(audit.length - AUDIT_TAIL) : audit };
  }
  return data;
}

/**
 * A REST snapshot, then every live event received since its requests went out, in order.
 *
 * Why: the snapshot's requests and the live stream are separate connections. An event that
 * arrives while the snapshot loads is newer than what some of its responses say (a round that
 * committed after `/api/rounds` answered); laying the snapshot over it would lose it until the
 * next reload. Replaying the events over the snapshot converges on the aggregator's state,
 * because every event emitted after the snapshot was taken arrives after its requests went out,
 * provided the stream was subscribed before they went out: so a snapshot is taken after each
 * opening of the stream (useDashboard.ts), not only at mount.
 */
export function snapshotWithEvents<
  S,
  R extends { id: number },
  B extends { id: string },
  A extends { seq: number },
  D extends LiveData<S, R, B, A>,
>(snapshot: D, since: readonly LiveChange<S, R, B, A>[]): D {
  return since.reduce<D>((d, e) => applyLiveEvent<S, R, B, A, D>(d, e), snapshot);
}

/**
 * The audit tail after a reload of the tail alone (the chain check's "check again"): the entries of
 * both, by `seq`, oldest first, at most AUDIT_TAIL. Entries that arrived live while the tail loaded
 * are newer than its answer and are kept.
 */
export function mergeAuditTail<A extends { seq: number }>(shown: readonly A[], loaded: readonly A[]): A[] {
  const bySeq = new Map<number, A>();
  for (const e of shown) bySeq.set(e.seq, e);
  for (const e of loaded) bySeq.set(e.seq, e);
  const merged = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return merged.length > AUDIT_TAIL ? merged.slice(merged.length - AUDIT_TAIL) : merged;
}
