/**
 * The roster end to end: real bank daemons (BankClient) given `secaggRoster`, a real aggregator
 * running secure rounds over real sockets. A bank whose roster leaves out one of the round's banks
 * declines the round naming that bank; the banks whose roster lists everyone commit without it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '@finsecure/common/secagg';
import { BANKS, train, useFederation } from '../../aggregator/test/helpers/federation-fixture.js';
import { loadOrCreateIdentity } from '../src/secagg/identity.js';

describe('secaggRoster in the bank daemon', () => {
  const fed = useFederation('finsecure-roster-fed-');

  it('a bank whose roster leaves out a participant declines the round naming it; the others commit', async () => {
    const { dir } = fed;
    const base = path.join(dir, 'roster');
    // The operators exchange their banks' identity keys (made at first start) out of band.
    const keys: Record<string, string> = {};
    for (const id of BANKS) {
      mkdirSync(path.join(base, id), { recursive: true });
      keys[id] = toBase64(loadOrCreateIdentity(path.join(base, id)).publicKey);
    }
    const full = path.join(base, 'roster.json');
    writeFileSync(full, JSON.stringify(keys));
    // bank-a's operator has not added bank-d yet.
    const partial = path.join(base, 'roster-without-d.json');
    const { 'bank-d': _d, ...withoutD } = keys;
    writeFileSync(partial, JSON.stringify(withoutD));

    const { agg } = await fed.start('roster', {
      aggregator: {
        rules: { rounds: 1, minBanks: 4, quorum: 3, graceMs: 60_000, secureAggregation: true } as never,
        training: { smoteRatio: 0 } as never,
      },
      bank: (_i, id) => ({ secaggRoster: id === 'bank-a' ? partial : full }),
    });
    const rounds = await train(agg);
    const round = rounds.find((r) => r.status === 'committed')!;
    expect([...round.participants].sort()).toEqual(['bank-b', 'bank-c', 'bank-d']);
    expect(round.banks['bank-a']!.rejected).toMatch(
      /refused advertise_keys: .*bank-d is not on this bank's secure-aggregation roster/,
    );
    // What reached the aggregator names the bank, not bank-a's files.
    expect(round.banks['bank-a']!.rejected).not.toContain(dir);
  }, 120_000);
});
