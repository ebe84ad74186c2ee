/**
 * The real bank client speaks the pull protocol of the fit upload (issue 14): it offers its
 * update, sends the frame only when granted, and spends DP budget only for what it sent. With
 * one upload slot and three banks training at once, every round commits with all three, in
 * plaintext and in secure rounds (whose masked update travels the same way).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  createBank,
  startBank,
  startTestAggregator,
  tempDir,
  waitRounds,
  writeShards,
} from '../../aggregator/test/helpers/federation.js';
import type { BankClient } from '../src/index.js';

let dir: string;
let shards: string[];
beforeAll(async () => {
  dir = tempDir('finsecure-bank-upload-');
  shards = await writeShards(dir, 3, 600);
});
afterAll(() => cleanup(dir));

describe('bank client upload grants', () => {
  it.each([
    ['plaintext', false],
    ['secure (masked updates)', true],
  ])('offers, uploads when granted one at a time, and every %s round commits with every bank', async (_, secure) => {
    const agg = await startTestAggregator(path.join(dir, secure ? 'agg-secure' : 'agg'), {
      autoStart: true,
      rules: { rounds: 2, minBanks: 3, quorum: 3, uploadSlots: 1, secureAggregation: secure } as never,
    });
    const banks: BankClient[] = [];
    const sent: Record<string, number[]> = { a: [], b: [], c: [] };
    try {
      for (const [i, id] of ['a', 'b', 'c'].entries()) {
        const state = path.join(dir, secure ? `${id}-secure` : id);
        const bank = await startBank(agg, id, await createBank(agg, id), shards[i]!, state);
        bank.on('update_sent', (u) => sent[id]!.push(u.roundId));
        banks.push(bank);
      }
      const rounds = await waitRounds(
        agg,
        (rs) => rs.filter((r) => r.status === 'committed').length >= 2,
        'two committed rounds',
        120_000,
      );
      for (const r of rounds.filter((x) => x.status === 'committed')) {
        expect([...r.participants].sort()).toEqual(['a', 'b', 'c']);
        expect(r.config.rules).toMatchObject({ secureAggregation: secure });
      }
      // One upload per bank per round, each after its grant; never two granted at once.
      for (const id of ['a', 'b', 'c']) expect(sent[id]).toEqual([1, 2]);
      const stats = agg.federation.uploadStats();
      expect(stats.peakInFlight).toBe(1);
      expect(stats.granted).toBe(6);
      expect(stats.ungranted).toBe(0);
    } finally {
      banks.forEach((b) => b.stop());
      await agg.close();
    }
  });
});
