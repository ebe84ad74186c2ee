/**
 * The models section of the store contract (called from store-contract.ts): a committed round's
 * model read back bit-exact, odd shapes, and commits that must be refused, the same on every backend.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../src/store/types.js';
import { expectSameWeights, model, randomWeights, round, type StoreFixture } from './store-contract-records.js';

export function modelsContract(fresh: () => Promise<{ store: Store; fixture: StoreFixture }>): void {
  describe('models', () => {
    it('commits a round with its model; latestModel returns it bit-exact', async () => {
      const { store } = await fresh();
      expect(await store.latestModel()).toBeNull();
      const w0 = randomWeights(1000);
      await store.saveModel(model(0, w0));
      expectSameWeights((await store.latestModel())!.weights, w0);

      const w1 = randomWeights(1001); // odd length: 4004 bytes
      const r1 = round(1, 'committed');
      await store.commitRound(r1, model(1, w1));
      expect(await store.getRound(1)).toEqual(r1);
      const latest = await store.latestModel();
      expect(latest).toMatchObject({ version: 1, roundId: 1, sha256: model(1, w1).sha256, spec: model(1, w1).spec });
      expectSameWeights(latest!.weights, w1);
      expectSameWeights((await store.getModel(0))!.weights, w0);
      expect(await store.getModel(9)).toBeNull();
    });

    it('stores only the window of a Float32Array view with a non-zero byteOffset', async () => {
      const { store } = await fresh();
      const backing = randomWeights(64);
      const view = new Float32Array(backing.buffer, 12, 7);
      const expected = view.slice();
      await store.saveModel(model(0, view));
      backing.fill(0); // later changes by the caller must not reach the stored model
      const got = (await store.getModel(0))!.weights;
      expectSameWeights(got, expected);
    });

    it('round-trips an empty and a single-weight model', async () => {
      const { store } = await fresh();
      await store.saveModel(model(0, new Float32Array(0)));
      expectSameWeights((await store.getModel(0))!.weights, new Float32Array(0));
      await store.saveModel(model(1, Float32Array.of(-1.5), null));
      expectSameWeights((await store.getModel(1))!.weights, Float32Array.of(-1.5));
    });

    it('ignores a model whose round never committed, and a later commit replaces it', async () => {
      const { store } = await fresh();
      await store.saveModel(model(0, randomWeights(10)));
      const w1 = randomWeights(10);
      await store.commitRound(round(1), model(1, w1));
      // What an interrupted MongoDB commit leaves behind: model 2 saved, round 2 not committed.
      await store.saveRound(round(2, 'evaluating'));
      await store.saveModel(model(2, randomWeights(10)));
      expect((await store.latestModel())?.version).toBe(1);
      expectSameWeights((await store.latestModel())!.weights, w1);
      // The restart fails round 2; the retry commits round 3 as model version 2.
      await store.failUnfinishedRounds('aggregator restarted', 5);
      const w2 = randomWeights(10);
      await store.commitRound(round(3, 'committed', { modelVersion: 2 }), model(2, w2, 3));
      const latest = await store.latestModel();
      expect(latest?.roundId).toBe(3);
      expectSameWeights(latest!.weights, w2);
    });

    it('refuses an inconsistent commit', async () => {
      const { store } = await fresh();
      await expect(store.commitRound(round(1, 'evaluating'), model(1, randomWeights(3)))).rejects.toThrow(
        /not committed/,
      );
      await expect(store.commitRound(round(1), model(2, randomWeights(3), 1))).rejects.toThrow(/names model/);
      expect(await store.getRound(1)).toBeNull();
      expect(await store.latestModel()).toBeNull();
    });
  });
}
