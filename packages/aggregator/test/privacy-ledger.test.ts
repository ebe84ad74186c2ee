/** The aggregator's privacy ledger is stored when a release was recorded, and only then (real SQLite). */
import { describe, expect, it } from 'vitest';
import { PrivacyLedger } from '../src/federation/privacy.js';
import { SqliteStore } from '../src/store/sqlite.js';

describe('PrivacyLedger.save', () => {
  it('writes after a release and skips the write when nothing was recorded since', async () => {
    const store = new SqliteStore(':memory:');
    await store.init();
    const ledger = new PrivacyLedger(store);
    await ledger.save(); // nothing recorded: a round without DP writes nothing
    expect(await store.getSetting('privacyLedger')).toBeNull();
    const eps = ledger.record('alpha', 1.1, 1e-5);
    await ledger.save();
    const saved = await store.getSetting<Record<string, unknown>>('privacyLedger');
    expect(Object.keys(saved!)).toEqual(['alpha']);
    // A marker written behind the ledger's back survives a save with nothing new...
    await store.setSetting('privacyLedger', { marker: true });
    await ledger.save();
    expect(await store.getSetting('privacyLedger')).toEqual({ marker: true });
    // ...and a new release is stored, and reloads to the same ε.
    ledger.record('alpha', 1.1, 1e-5);
    await ledger.save();
    const again = new PrivacyLedger(store);
    await again.load();
    expect(again.epsilonOf('alpha', 1e-5)).toBeCloseTo(ledger.epsilonOf('alpha', 1e-5)!, 12);
    expect(again.epsilonOf('alpha', 1e-5)).toBeGreaterThan(eps);
    await store.close();
  });
});
