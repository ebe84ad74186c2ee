/**
 * A database from before quarantines were stored (QUARANTINE_HELD_SETTING): the older aggregator
 * audited each quarantine (`bank.quarantined`) as it began and stored nothing else. The first
 * rebuild of the ledger after the upgrade must take those quarantines as stored, not audit them a
 * second time, and still audit once (recounted) a quarantine the old version never audited; an
 * old entry alone must not bring back a quarantine that lapsed under the old version.
 * Real SQLite files; the old history is written through the store, the setting this version
 * stores at a new database's first start removed, then the aggregator restarted.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import type { BankDetailView, RoundRecord } from '@finsecure/common/api';
import { api, createBank, startTestAggregator } from './helpers/federation.js';
import { rawFixture } from './helpers/raw-fixture.js';
import { storedRound as stored } from './helpers/stored-round.js';

const BANKS = ['bank-a', 'bank-b', 'bank-c', 'bank-d', 'bank-e'];
const RULES = { rounds: 2, minBanks: 4, quorum: 4, strategy: 'fedavg', quarantineAfterExclusions: 2 };

/** A committed round as an older aggregator stored it (helpers/stored-round.ts) over BANKS. */
const storedRound = (id: number, excluded: readonly string[], absent: readonly string[] = []): RoundRecord =>
  stored(BANKS, id, excluded, absent);

/** The entry the older aggregator wrote as a round completed a bank's streak. */
const oldEntry = (bankId: string, roundId: number) => ({
  at: roundId * 1000 + 500,
  type: 'bank.quarantined',
  actor: 'system',
  details: { bankId, roundId, streak: 2, afterExclusions: 2 },
});

describe('quarantines audited by a version that did not store them', () => {
  const fx = rawFixture();
  const { dir } = fx;

  /** The `bank.quarantined` entries' details, in order. */
  const quarantinedEntries = async () =>
    (await fx.agg!.store.listAudit()).filter((e) => e.type === 'bank.quarantined').map((e) => e.details);

  /** A view of a bank: rebuilds the ledger when none is cached (as selection would). */
  async function view(bankId: string): Promise<BankDetailView['quarantine']> {
    const r = await api<BankDetailView>(fx.agg!, 'GET', `/api/banks/${bankId}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.quarantine;
  }

  /** Starts an aggregator on `dataDir`, writes the old history with `write`, and stops it. */
  async function oldDatabase(
    dataDir: string,
    write: (store: NonNullable<typeof fx.agg>['store']) => Promise<void>,
  ): Promise<void> {
    const old = await startTestAggregator(dataDir, { rules: RULES as never });
    for (const id of BANKS) await createBank(old, id);
    await write(old.store);
    await old.close();
    // This version stores "none held" at a new database's first start; the older one never did.
    const db = new Database(path.join(dataDir, 'finsecure.db'));
    try {
      db.prepare(`DELETE FROM settings WHERE key = 'quarantineHeld'`).run();
    } finally {
      db.close();
    }
  }

  it('stores a quarantine the old version audited without a second entry; audits once, recounted, one it did not', async () => {
    const dataDir = path.join(dir, 'upgraded');
    await oldDatabase(dataDir, async (store) => {
      // bank-e: left out in rounds 1 and 2, quarantined at 2 and audited, not selected since.
      // bank-c: the same, audited, then lifted after round 2 and included since: not quarantined.
      // bank-d: left out in rounds 3 and 4, quarantined at 4, but never audited (a lost write).
      await store.saveRound(storedRound(1, ['bank-c', 'bank-e']));
      await store.saveRound(storedRound(2, ['bank-c', 'bank-e']));
      await store.appendAudit(oldEntry('bank-c', 2));
      await store.appendAudit(oldEntry('bank-e', 2));
      await store.setSetting('quarantineLifts', { 'bank-c': { at: 2600, by: 'admin', afterRound: 2 } });
      await store.appendAudit({
        at: 2600,
        type: 'bank.quarantine_lifted',
        actor: 'admin',
        details: { bankId: 'bank-c', sinceRound: 2, streak: 2, afterRound: 2 },
      });
      await store.saveRound(storedRound(3, ['bank-d'], ['bank-e']));
      await store.saveRound(storedRound(4, ['bank-d'], ['bank-e']));
    });
    const before = [
      { bankId: 'bank-c', roundId: 2, streak: 2, afterExclusions: 2 },
      { bankId: 'bank-e', roundId: 2, streak: 2, afterExclusions: 2 },
    ];
    const recounted = { bankId: 'bank-d', roundId: 4, streak: 2, afterExclusions: 2, recounted: true };
    const held = { 'bank-d': { sinceRound: 4, streak: 2 }, 'bank-e': { sinceRound: 2, streak: 2 } };

    fx.agg = await startTestAggregator(dataDir, { rules: RULES as never });
    const reads = vi.spyOn(fx.agg.store, 'listAudit');
    expect(await view('bank-e')).toMatchObject({ quarantined: true, sinceRound: 2 });
    expect(reads).toHaveBeenCalledTimes(1); // the log, read once: one short page
    expect(await view('bank-c')).toMatchObject({ quarantined: false });
    expect(await view('bank-d')).toMatchObject({ quarantined: true, sinceRound: 4 });
    expect(await quarantinedEntries()).toEqual([...before, recounted]);
    expect(await fx.agg.store.getSetting('quarantineHeld')).toEqual(held);

    // Start-up again: the ledger is rebuilt from the stored quarantines; nothing is audited again.
    await fx.agg.close();
    fx.agg = await startTestAggregator(dataDir, { rules: RULES as never });
    const again = vi.spyOn(fx.agg.store, 'listAudit');
    expect(await view('bank-e')).toMatchObject({ quarantined: true, sinceRound: 2 });
    expect(again).not.toHaveBeenCalled(); // the quarantines are stored: the log is not read again
    expect(await quarantinedEntries()).toEqual([...before, recounted]);
    expect(await fx.agg.store.getSetting('quarantineHeld')).toEqual(held);
    expect((await fx.agg.store.verifyAudit()).ok).toBe(true);
  });

  it('stores the quarantines when the old version audited them all, and audits nothing', async () => {
    const dataDir = path.join(dir, 'all-audited');
    await oldDatabase(dataDir, async (store) => {
      await store.saveRound(storedRound(1, ['bank-e']));
      await store.saveRound(storedRound(2, ['bank-e']));
      await store.appendAudit(oldEntry('bank-e', 2));
      await store.saveRound(storedRound(3, [], ['bank-e']));
    });
    const only = [{ bankId: 'bank-e', roundId: 2, streak: 2, afterExclusions: 2 }];

    fx.agg = await startTestAggregator(dataDir, { rules: RULES as never });
    expect(await view('bank-e')).toMatchObject({ quarantined: true, sinceRound: 2 });
    expect(await quarantinedEntries()).toEqual(only);
    expect(await fx.agg.store.getSetting('quarantineHeld')).toEqual({ 'bank-e': { sinceRound: 2, streak: 2 } });

    await fx.agg.close();
    fx.agg = await startTestAggregator(dataDir, { rules: RULES as never });
    expect(await view('bank-e')).toMatchObject({ quarantined: true, sinceRound: 2 });
    expect(await quarantinedEntries()).toEqual(only);
  });

  it('does not bring back a quarantine that lapsed under the old version; stores that none is held', async () => {
    const dataDir = path.join(dir, 'lapsed');
    await oldDatabase(dataDir, async (store) => {
      // bank-e: quarantined at 2 and audited; absent while rounds 1 and 2 were in the old version's
      // 500-round history, then selected again and included (rounds 503 and 504).
      await store.saveRound(storedRound(1, ['bank-e']));
      await store.saveRound(storedRound(2, ['bank-e']));
      await store.appendAudit(oldEntry('bank-e', 2));
      for (let id = 3; id <= 502; id++) await store.saveRound(storedRound(id, [], ['bank-e']));
      await store.saveRound(storedRound(503, []));
      await store.saveRound(storedRound(504, []));
    });

    fx.agg = await startTestAggregator(dataDir, { rules: RULES as never });
    expect(await view('bank-e')).toMatchObject({ quarantined: false, streak: 0 });
    expect(await quarantinedEntries()).toEqual([{ bankId: 'bank-e', roundId: 2, streak: 2, afterExclusions: 2 }]);
    expect(await fx.agg.store.getSetting('quarantineHeld')).toEqual({});
  });
  it('a database this version created stores "none held" at its first start: turning the rule on later reads no audit log', async () => {
    const dataDir = path.join(dir, 'new');
    const off = { ...RULES, quarantineAfterExclusions: null };
    const first = await startTestAggregator(dataDir, { rules: off as never });
    expect(await first.store.getSetting('quarantineHeld')).toEqual({});
    for (const id of BANKS) await createBank(first, id);
    // Rounds while the rule is off: bank-e left out twice, nobody quarantined or audited.
    await first.store.saveRound(storedRound(1, ['bank-e']));
    await first.store.saveRound(storedRound(2, ['bank-e']));
    await first.close();

    fx.agg = await startTestAggregator(dataDir, { rules: RULES as never });
    const reads = vi.spyOn(fx.agg.store, 'listAudit');
    expect(await view('bank-e')).toMatchObject({ quarantined: true, sinceRound: 2 });
    expect(reads).not.toHaveBeenCalled();
    expect(await quarantinedEntries()).toEqual([
      { bankId: 'bank-e', roundId: 2, streak: 2, afterExclusions: 2, recounted: true },
    ]);
    expect(await fx.agg.store.getSetting('quarantineHeld')).toEqual({ 'bank-e': { sinceRound: 2, streak: 2 } });
  });
});
