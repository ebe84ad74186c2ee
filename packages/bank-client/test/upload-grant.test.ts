/**
 * The real bank client speaks the pull protocol of the fit upload (issue 14): it offers its
 * update, sends the frame only when granted, and spends DP budget only for what it sent. With
 * one upload slot and three banks training at once, every round commits with all three, in
 * plaintext and in secure rounds (whose masked update travels the same way). With the pre-grant
 * on (the default; a secure round never pre-grants), a plaintext round's banks send their update
 * without offering it.
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
    ['offers and uploads when granted one at a time: plaintext', false, 0],
    ['offers and uploads when granted one at a time: secure (masked updates)', true, 0],
    ['uploads at once, granted in advance: plaintext', false, 16_777_216],
    ['offers even with the pre-grant on: secure (a secure round never pre-grants)', true, 16_777_216],
  ])('%s; every round commits with every bank', async (name, secure, uploadPreGrantBytes) => {
    const agg = await startTestAggregator(path.join(dir, `agg-${name.replace(/\W+/g, '-')}`), {
      autoStart: true,
      rules: {
        rounds: 2,
        minBanks: 3,
        quorum: 3,
        uploadSlots: 1,
        secureAggregation: secure,
        uploadPreGrantBytes,
      } as never,
    });
    const banks: BankClient[] = [];
    const sent: Record<string, number[]> = { a: [], b: [], c: [] };
    try {
      for (const [i, id] of ['a', 'b', 'c'].entries()) {
        const state = path.join(dir, `${id}-${name.replace(/\W+/g, '-')}`);
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
      // One upload per bank per round, each after its grant (never two granted at once), or each
      // granted in advance.
      for (const id of ['a', 'b', 'c']) expect(sent[id]).toEqual([1, 2]);
      const stats = agg.federation.uploadStats();
      const inAdvance = uploadPreGrantBytes > 0 && !secure;
      expect(stats.peakInFlight).toBe(inAdvance ? 0 : 1);
      expect(stats.granted).toBe(inAdvance ? 0 : 6);
      expect(stats.preGranted).toBe(inAdvance ? 6 : 0);
      expect(stats.ungranted).toBe(0);
    } finally {
      banks.forEach((b) => b.stop());
      await agg.close();
    }
  });
});
