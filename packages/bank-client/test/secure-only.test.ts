/**
 * A bank with a secure-aggregation roster takes part only in secure rounds (secureOnly, on by
 * default with a roster; frame-dispatch.ts): a plain assignment or plaintext evaluation request
 * from the aggregator is declined, so that it never sees the bank's update unmasked. Before, the
 * roster was checked only inside secure rounds, and an aggregator that ran a plain round instead
 * got the raw delta (egress review). secureOnly false restores plain rounds.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, tempDir } from '../../aggregator/test/helpers/federation.js';
import { loadOrCreateIdentity } from '../src/secagg/identity.js';
import { scriptedAggregator, type ScriptedAggregator } from './helpers/scripted-aggregator.js';

let dir: string | undefined;
let agg: ScriptedAggregator | undefined;

afterEach(async () => {
  await agg?.stop();
  if (dir) cleanup(dir);
  agg = dir = undefined;
});

/** A roster naming this bank (its own key, made in its state dir) and one other bank. */
function roster(d: string): string {
  const own = loadOrCreateIdentity(path.join(d, 'state'));
  const file = path.join(d, 'roster.json');
  const other = Buffer.alloc(32, 9).toString('base64');
  writeFileSync(file, JSON.stringify({ 'bank-a': Buffer.from(own.publicKey).toString('base64'), 'bank-b': other }));
  return file;
}

describe('secureOnly', () => {
  it('with a roster: plain assignments and evaluation requests are declined, nothing is trained', async () => {
    dir = tempDir('finsecure-secure-only-');
    agg = await scriptedAggregator(dir, { secaggRoster: roster(dir) });
    agg.assign(3);
    expect((await agg.next('decline', 3)).reason).toMatch(
      /bank bank-a takes part only in secure rounds .*plain round assignment is declined/,
    );
    agg.evaluationRequest(3);
    expect((await agg.next('decline', 3)).reason).toMatch(/plain evaluation request is declined/);
    expect(agg.arrived).toEqual([]);
  }, 60_000);

  it('false with a roster: the bank trains in plain rounds', async () => {
    dir = tempDir('finsecure-secure-only-');
    agg = await scriptedAggregator(dir, { secaggRoster: roster(dir), secureOnly: false });
    agg.assign(3);
    expect((await agg.next('update', 3)).type).toBe('update');
  }, 60_000);
});
