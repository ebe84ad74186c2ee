/**
 * The one behavioural contract every Store implementation must pass. Each backend's
 * test file supplies a factory for a fresh, empty store plus, where it can, a way to
 * reopen the same data (durability) and to write behind the store's back (tampering).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { StoreConflictError, type JobRecord, type RoundRecord, type Store } from '../src/store/types.js';
import { accountsContract } from './store-contract-accounts.js';
import { auditContract } from './store-contract-audit.js';
import { modelsContract } from './store-contract-models.js';
import {
  auditInput,
  bank,
  expectSameWeights,
  model,
  randomWeights,
  round,
  type ContractOptions,
  type StoreFixture,
} from './store-contract-records.js';

export * from './store-contract-records.js';

export function runStoreContract(
  name: string,
  makeStore: () => Promise<StoreFixture>,
  options: ContractOptions = {},
): void {
  const title = options.skip ? `${name} [SKIPPED: ${options.skip}]` : name;

  describe.skipIf(Boolean(options.skip))(title, () => {
    const open: { store: Store; fixture: StoreFixture }[] = [];

    /** A fresh store; everything it touched is closed and disposed after the test. */
    async function fresh(): Promise<{ store: Store; fixture: StoreFixture }> {
      const fixture = await makeStore();
      const entry = { store: fixture.store, fixture };
      open.push(entry);
      return entry;
    }

    afterEach(async () => {
      // Newest first: a reopened store closes before its fixture removes the data.
      for (const { store, fixture } of open.splice(0).reverse()) {
        await store.close();
        await fixture.dispose?.();
      }
    });

    accountsContract(fresh);

    it('init is idempotent', async () => {
      const { store } = await fresh();
      await store.init();
      await store.init();
      expect(await store.listBanks()).toEqual([]);
      expect(['sqlite', 'mongodb']).toContain(store.kind);
    });

    describe('banks', () => {
      it('creates, gets and lists banks in creation order', async () => {
        const { store } = await fresh();
        await store.createBank(bank('gamma', 3));
        await store.createBank(bank('alpha', 1));
        await store.createBank(bank('beta.eu', 2));
        expect(await store.getBank('alpha')).toEqual(bank('alpha', 1));
        expect(await store.getBank('nope')).toBeNull();
        expect((await store.listBanks()).map((b) => b.id)).toEqual(['alpha', 'beta.eu', 'gamma']);
        expect(await store.listBanks()).toEqual([bank('alpha', 1), bank('beta.eu', 2), bank('gamma', 3)]);
      });

      it('rejects a duplicate id with StoreConflictError and keeps the original', async () => {
        const { store } = await fresh();
        await store.createBank(bank('alpha'));
        const dup = { ...bank('alpha'), name: 'Impostor' };
        await expect(store.createBank(dup)).rejects.toBeInstanceOf(StoreConflictError);
        expect((await store.getBank('alpha'))?.name).toBe('Bank alpha');
        expect(await store.listBanks()).toHaveLength(1);
      });

      it('touches lastSeenAt; touching an unknown bank is a no-op', async () => {
        const { store } = await fresh();
        await store.createBank(bank('alpha'));
        await store.touchBank('alpha', 42);
        await store.touchBank('alpha', 43);
        await store.touchBank('ghost', 44);
        expect((await store.getBank('alpha'))?.lastSeenAt).toBe(43);
        expect(await store.getBank('ghost')).toBeNull();
      });

      it('revokes (keeping the first time) and reports unknown banks', async () => {
        const { store } = await fresh();
        await store.createBank(bank('alpha'));
        expect(await store.revokeBank('alpha', 100)).toBe(true);
        expect(await store.revokeBank('alpha', 200)).toBe(true);
        expect((await store.getBank('alpha'))?.revokedAt).toBe(100);
        expect(await store.revokeBank('ghost', 100)).toBe(false);
      });

      it('rotates a token and clears revocation', async () => {
        const { store } = await fresh();
        await store.createBank(bank('alpha'));
        await store.revokeBank('alpha', 100);
        expect(await store.setBankToken('alpha', 'b'.repeat(64))).toBe(true);
        const b = await store.getBank('alpha');
        expect(b?.tokenHash).toBe('b'.repeat(64));
        expect(b?.revokedAt).toBeNull();
        expect(await store.setBankToken('ghost', 'c'.repeat(64))).toBe(false);
      });
    });

    describe('settings', () => {
      it('round-trips objects, overwrites, and returns null when missing', async () => {
        const { store } = await fresh();
        expect(await store.getSetting('federation')).toBeNull();
        const value = {
          training: { rounds: 10, lr: 0.001, schedule: [1, 2.5, -3] },
          rules: { minBanks: 2, note: 'ünïcødé ✓', flag: true, none: null },
          empty: {},
        };
        await store.setSetting('federation', value);
        expect(await store.getSetting<typeof value>('federation')).toEqual(value);
        await store.setSetting('federation', { training: { rounds: 20 } });
        expect(await store.getSetting('federation')).toEqual({ training: { rounds: 20 } });
      });

      it('setSettingsAudited stores the settings and appends the entries; bad audit input stores nothing', async () => {
        const { store } = await fresh();
        await store.setSetting('keep', 1);
        const [entry] = await store.setSettingsAudited({ federation: { rules: { rounds: 5 } }, keep: 2 }, [
          { at: 10, type: 'config.changed', actor: 'admin', details: { after: 5 } },
        ]);
        expect(entry).toMatchObject({ seq: 1, type: 'config.changed', actor: 'admin', details: { after: 5 } });
        expect(await store.getSetting('federation')).toEqual({ rules: { rounds: 5 } });
        expect(await store.getSetting('keep')).toBe(2);
        expect(await store.listAudit()).toEqual([entry]);
        // Two entries, in order; a bad second entry keeps the first one out too.
        const two = await store.setSettingsAudited({ keep: 3 }, [
          { at: 11, type: 'config.changed', actor: 'admin', details: {} },
          { at: 11, type: 'training.control', actor: 'admin', details: { action: 'start' } },
        ]);
        expect(two.map((e) => [e.seq, e.type])).toEqual([
          [2, 'config.changed'],
          [3, 'training.control'],
        ]);
        expect(await store.getSetting('keep')).toBe(3);
        await expect(
          store.setSettingsAudited({ keep: 4 }, [
            { at: 12, type: 'config.changed', actor: 'admin', details: {} },
            { at: Number.NaN, type: 'config.changed', actor: 'admin', details: {} },
          ]),
        ).rejects.toThrow();
        await expect(store.setSettingsAudited({ keep: 4 }, [])).rejects.toThrow(RangeError);
        expect(await store.getSetting('keep')).toBe(3);
        expect(await store.listAudit()).toHaveLength(3);
        expect((await store.verifyAudit()).ok).toBe(true);
      });

      it('round-trips primitives and non-finite numbers', async () => {
        const { store } = await fresh();
        await store.setSetting('trainingState', 'paused');
        await store.setSetting('count', 7);
        await store.setSetting('odd', {
          nan: Number.NaN,
          inf: Number.POSITIVE_INFINITY,
          ninf: Number.NEGATIVE_INFINITY,
        });
        expect(await store.getSetting<string>('trainingState')).toBe('paused');
        expect(await store.getSetting<number>('count')).toBe(7);
        expect(await store.getSetting('odd')).toEqual({
          nan: Number.NaN,
          inf: Number.POSITIVE_INFINITY,
          ninf: Number.NEGATIVE_INFINITY,
        });
      });
    });

    describe('rounds', () => {
      it('saves and gets a round exactly, including NaN metrics', async () => {
        const { store } = await fresh();
        const r = round(1, 'committed', { metrics: { precision: Number.NaN, recall: 0, rocAuc: 0.5 } });
        await store.saveRound(r);
        expect(await store.getRound(1)).toEqual(r);
        expect(await store.getRound(2)).toBeNull();
      });

      it('drops undefined optional fields instead of storing null', async () => {
        const { store } = await fresh();
        const r = round(1, 'training');
        r.banks = { alpha: { bytesUp: 1, bytesDown: 2, loss: undefined } };
        await store.saveRound(r);
        const got = await store.getRound(1);
        expect(got?.banks.alpha).toStrictEqual({ bytesUp: 1, bytesDown: 2 });
      });

      it('replaces a round saved again under the same id', async () => {
        const { store } = await fresh();
        await store.saveRound(round(1, 'training'));
        const done = round(1, 'failed', { failureReason: 'no quorum' });
        await store.saveRound(done);
        expect(await store.getRound(1)).toEqual(done);
        expect(await store.listRounds()).toHaveLength(1);
      });

      it('lists newest first and oldest first, with paging', async () => {
        const { store } = await fresh();
        for (const id of [3, 1, 7, 5, 2, 6, 4]) await store.saveRound(round(id));
        const ids = (rs: RoundRecord[]) => rs.map((r) => r.id);
        expect(ids(await store.listRounds())).toEqual([7, 6, 5, 4, 3, 2, 1]);
        expect(ids(await store.listRounds({ limit: 3 }))).toEqual([7, 6, 5]);
        expect(ids(await store.listRounds({ before: 5, limit: 2 }))).toEqual([4, 3]);
        expect(ids(await store.listRounds({ before: 1 }))).toEqual([]);
        expect(ids(await store.listRounds({ limit: 0 }))).toEqual([]);
        expect(ids(await store.listRoundsAscending())).toEqual([1, 2, 3, 4, 5, 6, 7]);
        expect(ids(await store.listRoundsAscending({ after: 2, limit: 3 }))).toEqual([3, 4, 5]);
        expect(ids(await store.listRoundsAscending({ after: 6 }))).toEqual([7]);
        expect(ids(await store.listRoundsAscending({ limit: 0 }))).toEqual([]);
        expect((await store.listRounds({ limit: 1 }))[0]).toEqual(round(7));
        await expect(store.listRounds({ limit: -1 })).rejects.toThrow(RangeError);
      });

      it('reports the max round id, 0 when empty', async () => {
        const { store } = await fresh();
        expect(await store.maxRoundId()).toBe(0);
        await store.saveRound(round(4));
        await store.saveRound(round(2));
        expect(await store.maxRoundId()).toBe(4);
      });

      it('fails unfinished rounds and leaves finished ones alone', async () => {
        const { store } = await fresh();
        const committed = round(1, 'committed');
        const failed = round(2, 'failed', { failureReason: 'quorum not reached' });
        await store.saveRound(committed);
        await store.saveRound(failed);
        await store.saveRound(round(3, 'selecting'));
        await store.saveRound(round(4, 'training'));
        await store.saveRound(round(5, 'aggregating', { endedAt: 123 }));
        await store.saveRound(round(6, 'evaluating'));
        expect(await store.failUnfinishedRounds('aggregator restarted', 999)).toEqual([3, 4, 5, 6]);
        for (const id of [3, 4, 6]) {
          expect(await store.getRound(id)).toMatchObject({
            status: 'failed',
            failureReason: 'aggregator restarted',
            endedAt: 999,
          });
        }
        expect(await store.getRound(5)).toMatchObject({ status: 'failed', endedAt: 123 });
        expect(await store.getRound(1)).toEqual(committed);
        expect(await store.getRound(2)).toEqual(failed);
        expect(await store.failUnfinishedRounds('again', 1000)).toEqual([]);
      });

      it('treats a reason starting with $ as text', async () => {
        const { store } = await fresh();
        await store.saveRound(round(1, 'training'));
        await store.failUnfinishedRounds('$status', 5);
        expect((await store.getRound(1))?.failureReason).toBe('$status');
      });
    });

    describe('analytics jobs', () => {
      const job = (id: number, over: Partial<JobRecord> = {}): JobRecord => ({
        id,
        kind: 'segmentation',
        status: 'queued',
        requestedBy: 'admin',
        requestedAt: 1_700_000_000_000 + id,
        startedAt: null,
        endedAt: null,
        params: { k: 4, privacy: { clip: 4, noiseMultiplier: 1.5 } },
        stages: [],
        result: null,
        failureReason: null,
        ...over,
      });

      it('saves, replaces, gets and lists jobs newest first', async () => {
        const { store } = await fresh();
        expect(await store.listJobs()).toEqual([]);
        expect(await store.getJob(1)).toBeNull();
        await store.saveJob(job(1));
        await store.saveJob(job(2, { kind: 'calibration', params: { contamination: 0.01 } }));
        const done = job(1, {
          status: 'completed',
          startedAt: 1_700_000_000_010,
          endedAt: 1_700_000_000_020,
          stages: [
            {
              name: 'moments',
              asked: ['alpha', 'beta.eu'],
              answered: ['alpha'],
              dropped: { 'beta.eu': 'declined: 3 customers' },
              closedBy: 'all_answered',
              openedAt: 1,
              closedAt: 2,
            },
          ],
          result: { centres: [[1.5, -0.25]], names: ['high amount, mostly at night'], fraudRate: [null] },
        });
        await store.saveJob(done);
        expect(await store.getJob(1)).toEqual(done);
        expect((await store.listJobs()).map((j) => j.id)).toEqual([2, 1]);
        expect((await store.listJobs({ limit: 1 })).map((j) => j.id)).toEqual([2]);
        expect((await store.listJobs({ before: 2 })).map((j) => j.id)).toEqual([1]);
        const failed = job(2, { kind: 'calibration', status: 'failed', failureReason: '$reason' });
        await store.saveJob(failed);
        expect(await store.getJob(2)).toEqual(failed);
      });
    });

    modelsContract(fresh);

    auditContract(fresh, options);

    it.skipIf(!options.durable)('keeps everything across close and reopen', async () => {
      const first = await fresh();
      const { store } = first;
      await store.createBank(bank('alpha'));
      await store.touchBank('alpha', 77);
      await store.setSetting('federation', { training: { rounds: 3 } });
      await store.saveModel(model(0, randomWeights(33)));
      const w1 = randomWeights(33);
      const r1 = round(1);
      await store.commitRound(r1, model(1, w1));
      await store.saveRound(round(2, 'training'));
      const audit = [await store.appendAudit(auditInput(1)), await store.appendAudit(auditInput(2))];
      await store.close();

      const again = await first.fixture.reopen!();
      open.push({ store: again, fixture: {} as StoreFixture });
      await again.init();
      expect(await again.getBank('alpha')).toEqual({ ...bank('alpha'), lastSeenAt: 77 });
      expect(await again.getSetting('federation')).toEqual({ training: { rounds: 3 } });
      expect(await again.getRound(1)).toEqual(r1);
      expect(await again.maxRoundId()).toBe(2);
      expectSameWeights((await again.latestModel())!.weights, w1);
      expect(await again.listAudit()).toEqual(audit);
      // The chain continues from the stored head.
      const e3 = await again.appendAudit(auditInput(3));
      expect(e3).toMatchObject({ seq: 3, prevHash: audit[1].hash });
      expect(await again.verifyAudit()).toMatchObject({ ok: true, entries: 3 });
    });
  });
}
