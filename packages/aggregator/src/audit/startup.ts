/**
 * The start-up check of stored state and the audit entries of a start and a stop.
 *
 * At start, before the federation loads anything: the store's pages (SQLite
 * quick_check), every model against its sha256, every sealed round against its audit
 * entry, and the audit chain against its signed head, checkpoints and any bank heads.
 * Any failure refuses the start with every problem named (file, table, row). Then
 * checkpoints an earlier version signed as heads are re-signed as checkpoints, and
 * committed rounds that no audit entry seals are repaired: an interrupted commit (the
 * process died between the commit and its audit append, with the old non-atomic path)
 * gets its `round.committed` entry, marked recovered; a round committed before rounds
 * were sealed gets a `round.sealed` entry pointing at its original entry. Finally the
 * start itself is an entry, `aggregator.started`, saying whether the previous run
 * stopped cleanly.
 */
import type { AuditEntry, AuditVerification, StorageReport, Store, WitnessedHead } from '../store/types.js';

/** Stored state that fails the start-up check; `problems` names each file, table and row. */
export class StoredStateError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
    this.name = 'StoredStateError';
  }
}

export type PreviousShutdown = 'clean' | 'unclean' | 'first start';

export interface StartupReport {
  storage: StorageReport;
  audit: AuditVerification;
  /** Rounds sealed by this start, and how. */
  repaired: { roundId: number; seq: number; kind: 'recovered' | 'sealed' }[];
  previousShutdown: PreviousShutdown;
  started: AuditEntry;
  /** Wall time of the whole check, ms. */
  ms: number;
}

/** Setting recording whether the aggregator is running, to tell a clean stop from a crash. */
export const LIFECYCLE_SETTING = 'aggregatorLifecycle';
interface Lifecycle {
  state: 'running' | 'stopped';
  at: number;
  version: string;
}

/**
 * Checks everything stored, repairs unsealed committed rounds, appends `aggregator.started`.
 * @param opts.version the aggregator's version; opts.now the clock (ms); opts.bankHeads heads banks kept.
 * @throws StoredStateError when storage or the audit chain is damaged (nothing is written then).
 */
export async function verifyStoredState(
  store: Store,
  opts: { version: string; now: () => number; bankHeads?: WitnessedHead[] },
): Promise<StartupReport> {
  const t0 = performance.now();
  const where = 'file' in store && typeof store.file === 'string' ? `file ${store.file}, ` : '';
  const storage = await store.checkStorage();
  if (!storage.ok)
    throw new StoredStateError(
      `stored state is damaged; refusing to start:\n  ${storage.problems.join('\n  ')}`,
      storage.problems,
    );
  const audit = await store.verifyAudit(opts.bankHeads ? { bankHeads: opts.bankHeads } : {});
  if (!audit.ok) {
    const problems = (audit.problems ?? [audit.reason ?? 'unknown']).map((p) => `${where}table audit: ${p}`);
    throw new StoredStateError(
      `the audit log fails verification (first problem at entry ${audit.brokenAt}); refusing to start:\n  ${problems.join('\n  ')}`,
      problems,
    );
  }
  // Checkpoints an earlier version signed as heads could each stand in for the head of a cut-off
  // log (audit/signer.ts); verified above, they are re-signed as what they are.
  const resignedCheckpoints = audit.anchors?.legacyCheckpoints ? await store.resignLegacyCheckpoints() : 0;
  const repaired = await sealUnsealedRounds(store, opts.now());
  const last = await store.getSetting<Lifecycle>(LIFECYCLE_SETTING);
  const previousShutdown: PreviousShutdown = !last ? 'first start' : last.state === 'stopped' ? 'clean' : 'unclean';
  const started = await store.appendAudit({
    at: opts.now(),
    type: 'aggregator.started',
    actor: 'system',
    details: {
      version: opts.version,
      previousShutdown,
      ...(last ? { previousVersion: last.version, previousStateAt: last.at } : {}),
      checked: { entries: audit.entries, models: storage.checked.models, rounds: storage.checked.rounds },
      ...(repaired.length ? { repairedRounds: repaired.map((r) => r.roundId) } : {}),
      ...(resignedCheckpoints ? { resignedCheckpoints } : {}),
    },
  });
  await store.setSetting<Lifecycle>(LIFECYCLE_SETTING, { state: 'running', at: opts.now(), version: opts.version });
  await store.checkpointAudit(opts.now());
  return { storage, audit, repaired, previousShutdown, started, ms: performance.now() - t0 };
}

/** Appends `aggregator.stopped`, marks the stop clean and checkpoints the head. Call before store.close(). */
export async function recordShutdown(
  store: Store,
  opts: { version: string; now: () => number; reason?: string },
): Promise<AuditEntry> {
  const entry = await store.appendAudit({
    at: opts.now(),
    type: 'aggregator.stopped',
    actor: 'system',
    details: { version: opts.version, ...(opts.reason ? { reason: opts.reason } : {}) },
  });
  await store.setSetting<Lifecycle>(LIFECYCLE_SETTING, { state: 'stopped', at: opts.now(), version: opts.version });
  await store.checkpointAudit(opts.now());
  return entry;
}

async function sealUnsealedRounds(store: Store, now: number): Promise<StartupReport['repaired']> {
  const unsealed = await store.unsealedRounds();
  if (unsealed.length === 0) return [];
  // One pass over the log: which of these rounds have an (unsealing) round.committed entry.
  const committedAt = new Map<number, number>();
  const wanted = new Set(unsealed);
  for (let after = 0; ;) {
    const page = await store.listAudit({ afterSeq: after, limit: 5_000 });
    if (page.length === 0) break;
    for (const e of page) {
      const id = e.details.roundId;
      if (e.type === 'round.committed' && typeof id === 'number' && wanted.has(id)) committedAt.set(id, e.seq);
    }
    after = page[page.length - 1].seq;
  }
  const repaired: StartupReport['repaired'] = [];
  for (const roundId of unsealed) {
    const original = committedAt.get(roundId);
    const entry =
      original === undefined
        ? await store.sealRound(roundId, {
            at: now,
            type: 'round.committed',
            actor: 'system',
            details: {
              recovered: true,
              reason:
                'the round was committed without its audit entry (the aggregator stopped between the commit and ' +
                'its audit append); recorded at the next start',
            },
          })
        : await store.sealRound(roundId, {
            at: now,
            type: 'round.sealed',
            actor: 'system',
            details: {
              committedEntry: original,
              reason: 'the round was stored before committed rounds were sealed by the audit chain',
            },
          });
    repaired.push({ roundId, seq: entry.seq, kind: original === undefined ? 'recovered' : 'sealed' });
  }
  return repaired;
}
