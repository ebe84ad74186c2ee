/**
 * The roster end to end: real bank daemons (BankClient) given `secaggRoster`, a real aggregator
 * running secure rounds over real sockets. A bank whose roster leaves out one of the round's banks
 * declines the round naming that bank; the banks whose roster lists everyone commit without it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { toBase64 } from '@finsecure/common/secagg';
import type { RunningAggregator } from '@finsecure/aggregator';
import {
  api,
  cleanup,
  createBank,
  startBank,
  startTestAggregator,
  tempDir,
  waitRounds,
  writeShards,
} from '../../aggregator/test/helpers/federation.js';
import type { BankClient } from '../src/index.js';
import { loadOrCreateIdentity } from '../src/secagg/identity.js';

const BANKS = ['bank-a', 'bank-b', 'bank-c', 'bank-d'];

describe('secaggRoster in the bank daemon', () => {
  const dir = tempDir('finsecure-roster-fed-');
  const clients: BankClient[] = [];
  let agg: RunningAggregator | undefined;
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await agg?.close();
    agg = undefined;
  });
  afterAll(() => cleanup(dir));

  it('a bank whose roster leaves out a participant declines the round naming it; the others commit', async () => {
    const shards = await writeShards(dir, BANKS.length, 400);
    // The operators exchange their banks' identity keys (made at first start) out of band.
    const keys: Record<string, string> = {};
    for (const id of BANKS) {
      mkdirSync(path.join(dir, id), { recursive: true });
      keys[id] = toBase64(loadOrCreateIdentity(path.join(dir, id)).publicKey);
    }
    const full = path.join(dir, 'roster.json');
    writeFileSync(full, JSON.stringify(keys));
    // bank-a's operator has not added bank-d yet.
    const partial = path.join(dir, 'roster-without-d.json');
    const { 'bank-d': _d, ...withoutD } = keys;
    writeFileSync(partial, JSON.stringify(withoutD));

    agg = await startTestAggregator(path.join(dir, 'agg'), {
      rules: { rounds: 1, minBanks: 4, quorum: 3, graceMs: 60_000, secureAggregation: true } as never,
      training: { smoteRatio: 0 } as never,
    });
    for (const [i, id] of BANKS.entries()) {
      const token = await createBank(agg, id);
      const secaggRoster = id === 'bank-a' ? partial : full;
      clients.push(await startBank(agg, id, token, shards[i]!, path.join(dir, id), { secaggRoster }));
    }
    await api(agg, 'POST', '/api/training/start');
    const rounds = await waitRounds(agg, (r) => r.some((x) => x.status === 'committed'), 'a committed round', 90_000);
    const round = rounds.find((r) => r.status === 'committed')!;
    expect([...round.participants].sort()).toEqual(['bank-b', 'bank-c', 'bank-d']);
    expect(round.banks['bank-a']!.rejected).toMatch(
      /refused advertise_keys: .*bank-d is not on this bank's secure-aggregation roster/,
    );
    // What reached the aggregator names the bank, not bank-a's files.
    expect(round.banks['bank-a']!.rejected).not.toContain(dir);
  }, 120_000);
});
