/**
 * The quarantine rule over real sockets and a real SQLite file: a bank whose ×100 update
 * Multi-Krum leaves out in two consecutive rounds is quarantined (audited, stored), is not
 * selected while the rule holds, even after the strategy changes, and is selected again once
 * an admin lifts the quarantine.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { BankDetailView, RoundRecord } from '@finsecure/common/api';
import { api, createBank, startTestAggregator, updateAccepted, waitRounds } from './helpers/federation.js';
import { rawFixture } from './helpers/raw-fixture.js';
import { storedRound as stored } from './helpers/stored-round.js';
import { RawBank, updateMessage } from './helpers/raw-bank.js';

const PARAMS = 4097; // the default 30-64-32-1 MLP
const BANKS = ['bank-a', 'bank-b', 'bank-c', 'bank-d', 'bank-e'];
const HOSTILE = 'bank-e';

/** Honest banks send nearby deltas; the hostile one scales its own ×100. */
function deltaOf(bankId: string, roundId: number): Float32Array {
  const k = BANKS.indexOf(bankId) + 1;
  const d = Float32Array.from({ length: PARAMS }, (_, i) => 0.01 * Math.sin(i + roundId) + 0.001 * Math.cos(k * i));
  if (bankId === HOSTILE) for (let i = 0; i < PARAMS; i++) d[i] = d[i]! * 100;
  return d;
}

describe('quarantine of a bank the strategy keeps leaving out', () => {
  const fx = rawFixture();
  const { dir, banks } = fx;

  /** The named banks answer the next round's assignment; returns its id. */
  async function playRound(ids: readonly string[]): Promise<number> {
    let roundId = 0;
    await Promise.all(
      ids.map(async (id) => {
        const b = banks[BANKS.indexOf(id)]!;
        const a = await b.next('round_assignment');
        roundId = a.msg.roundId;
        b.send(updateMessage(a.msg, { numExamples: 100 }), [
          { name: 'update', shape: [PARAMS], data: deltaOf(id, roundId) },
        ]);
        await updateAccepted(fx.agg!, id, a.msg.roundId);
      }),
    );
    return roundId;
  }

  const committed = (n: number) =>
    waitRounds(fx.agg!, (rs) => rs.filter((r) => r.status === 'committed').length >= n, `${n} committed round(s)`);

  async function train(rules: Record<string, unknown>, rounds: number) {
    const changed = await api(fx.agg!, 'PUT', '/api/config', { rules: { ...rules, rounds } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect((await api(fx.agg!, 'POST', '/api/training/start')).status).toBeLessThan(300);
  }

  it('quarantines it after two exclusions, skips it at selection, and takes it back after a lift', async () => {
    fx.agg = await startTestAggregator(path.join(dir, 'agg'), {
      autoStart: true,
      rules: {
        rounds: 2,
        minBanks: 5,
        quorum: 5,
        strategy: 'multikrum',
        byzantineF: 1,
        quarantineAfterExclusions: 2,
        // Raw banks do not evaluate: the evaluation stage closes at its (short) deadline.
        evaluationTimeoutMs: 200,
      } as never,
    });
    for (const id of BANKS) {
      const token = await createBank(fx.agg, id);
      banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token, 100));
    }

    await playRound(BANKS);
    const r2 = await playRound(BANKS);
    const two = await committed(2);
    for (const r of two) expect(r.banks[HOSTILE]!.weight).toBe(0);
    const audit = await api<{ type: string; details: Record<string, unknown> }[]>(fx.agg, 'GET', '/api/audit');
    expect(audit.body.filter((e) => e.type === 'bank.quarantined').map((e) => e.details)).toEqual([
      { bankId: HOSTILE, roundId: r2, streak: 2, afterExclusions: 2 },
    ]);
    expect(await fx.agg.store.getSetting('quarantineHeld')).toEqual({ [HOSTILE]: { sinceRound: r2, streak: 2 } });
    const detail = await api<BankDetailView>(fx.agg, 'GET', `/api/banks/${HOSTILE}`);
    expect(detail.body.quarantine).toMatchObject({ quarantined: true, streak: 2, sinceRound: r2 });

    // FedAvg from here (it leaves nobody out); the rule, unchanged, still holds the bank back.
    const fedavg = { strategy: 'fedavg', byzantineF: 0, minBanks: 4, quorum: 4 };
    await train(fedavg, 3);
    const honest = BANKS.filter((b) => b !== HOSTILE);
    const r3 = await playRound(honest);
    const three = await committed(3);
    expect(three.find((r) => r.id === r3)!.selected.sort()).toEqual(honest);

    const lifted = await api<{ lifted: { afterRound: number } }>(
      fx.agg,
      'POST',
      `/api/banks/${HOSTILE}/quarantine/lift`,
    );
    expect(lifted.status).toBe(200);
    expect(lifted.body.lifted.afterRound).toBe(r3);
    expect(await fx.agg.store.getSetting('quarantineHeld')).toEqual({});
    await train(fedavg, 4);
    const r4 = await playRound(BANKS);
    const four = await committed(4);
    expect(four.find((r) => r.id === r4)!.selected.sort()).toEqual(BANKS);
    const after = await api<BankDetailView>(fx.agg, 'GET', `/api/banks/${HOSTILE}`);
    expect(after.body.quarantine).toMatchObject({ quarantined: false, streak: 0 });
  });
  /** A committed round, as an older aggregator stored it, in which the strategy left `excluded` out. */
  const storedRound = (id: number, excluded: string): RoundRecord => stored(BANKS, id, [excluded]);

  /** Rounds 1 and 2 as stored before quarantines were: bank-e left out in both, nothing held. */
  async function storeOldHistory(dataDir: string, rules: Record<string, unknown>): Promise<void> {
    const first = await startTestAggregator(dataDir, { rules: rules as never });
    await first.store.saveRound(storedRound(1, HOSTILE));
    await first.store.saveRound(storedRound(2, HOSTILE));
    await first.close();
  }

  it('stores and audits once a quarantine found by recounting stored rounds; a higher rule releases it', async () => {
    const dataDir = path.join(dir, 'recount');
    const rules = { rounds: 1, minBanks: 4, quorum: 4, strategy: 'fedavg', evaluationTimeoutMs: 200 };
    await storeOldHistory(dataDir, rules);

    fx.agg = await startTestAggregator(dataDir, {
      autoStart: true,
      // Rounds 1 and 2 count towards rules.rounds: one more to train.
      rules: { ...rules, rounds: 3, quarantineAfterExclusions: 2 } as never,
    });
    for (const id of BANKS) {
      const token = await createBank(fx.agg, id);
      banks.push(await RawBank.join(`${fx.agg.wsUrl}/ws/bank`, id, token, 100));
    }
    const honest = BANKS.filter((b) => b !== HOSTILE);
    const r3 = await playRound(honest);
    const after3 = await committed(3);
    expect(after3.find((r) => r.id === r3)!.selected.sort()).toEqual(honest);
    expect(await fx.agg.store.getSetting('quarantineHeld')).toEqual({ [HOSTILE]: { sinceRound: 2, streak: 2 } });
    const quarantinedEntries = async () =>
      (await api<{ type: string; details: Record<string, unknown> }[]>(fx.agg!, 'GET', '/api/audit')).body
        .filter((e) => e.type === 'bank.quarantined')
        .map((e) => e.details);
    const recounted = { bankId: HOSTILE, roundId: 2, streak: 2, afterExclusions: 2, recounted: true };
    expect(await quarantinedEntries()).toEqual([recounted]);

    // A higher rule: the ledger is rebuilt, the stored streak (2) no longer meets it, bank-e is back.
    await train({ quarantineAfterExclusions: 3 }, 4);
    const r4 = await playRound(BANKS);
    const after4 = await committed(4);
    expect(after4.find((r) => r.id === r4)!.selected.sort()).toEqual(BANKS);
    expect(await quarantinedEntries()).toEqual([recounted]); // audited once
  });

  it('stores a recounted quarantine and its entry in one write: a refused write leaves neither', async () => {
    const dataDir = path.join(dir, 'recount-refused');
    const rules = { rounds: 2, minBanks: 4, quorum: 4, strategy: 'fedavg', quarantineAfterExclusions: 2 };
    await storeOldHistory(dataDir, rules);
    fx.agg = await startTestAggregator(dataDir, { rules: rules as never });
    await createBank(fx.agg, HOSTILE);
    const entries = async () => (await fx.agg!.store.listAudit()).filter((e) => e.type === 'bank.quarantined');
    // The disk refuses the quarantine's setting (a real SQLite abort, from a second connection).
    const other = new Database(path.join(dataDir, 'finsecure.db'));
    other.exec(`CREATE TRIGGER refuse_held BEFORE INSERT ON settings WHEN NEW.key = 'quarantineHeld'
                BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    try {
      // Each view rebuilds the ledger and tries to keep what the recount found.
      for (let i = 0; i < 2; i++) expect((await api(fx.agg, 'GET', `/api/banks/${HOSTILE}`)).status).toBe(500);
      expect(await entries()).toEqual([]);
      // As stored at the database's first start: none held.
      expect(await fx.agg.store.getSetting('quarantineHeld')).toEqual({});
    } finally {
      other.exec('DROP TRIGGER refuse_held');
      other.close();
    }
    const view = await api<BankDetailView>(fx.agg, 'GET', `/api/banks/${HOSTILE}`);
    expect(view.body.quarantine).toMatchObject({ quarantined: true, sinceRound: 2 });
    expect((await entries()).map((e) => e.details)).toEqual([
      { bankId: HOSTILE, roundId: 2, streak: 2, afterExclusions: 2, recounted: true },
    ]);
    expect(await fx.agg.store.getSetting('quarantineHeld')).toEqual({ [HOSTILE]: { sinceRound: 2, streak: 2 } });
    expect((await fx.agg.store.verifyAudit()).ok).toBe(true);
  });
});
