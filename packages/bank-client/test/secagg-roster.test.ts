/**
 * The secure-aggregation roster (secaggRoster): with one, a bank declines a secure round that
 * names a bank not on it, or another key for one, so an aggregator cannot invent banks whose keys
 * it holds and unmask one bank's update (the attack trust on first use lets through).
 */
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentityKeyPair, SecAggError, toBase64 } from '@finsecure/common/secagg';
import { BANK_ENV, BankConfigError, bankSettingsHelp, loadBankConfig } from '../src/config/index.js';
import {
  announceSecAggIdentity,
  loadOrCreateIdentity,
  PinnedIdentities,
  readIdentity,
} from '../src/secagg/identity.js';
import { parseSecAggRoster, type SecAggRoster } from '../src/secagg/roster.js';
import { cleanup, tempDir } from '../../aggregator/test/helpers/federation.js';
import { lastSent, openRound, removeSimBanks, simBanks } from './helpers/secure-fit-round.js';

const dir = tempDir('finsecure-roster-');
afterAll(() => {
  cleanup(dir);
  removeSimBanks();
});

const base = {
  server: 'ws://localhost:8080/ws/bank',
  bankId: 'bank-a',
  token: 'x'.repeat(32),
  data: 'a.csv',
};
const fixedPoint = { fractionalBits: 16, clip: 8, maxWeight: 1, maxBanks: 3 };

function rosterFile(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BankConfigError);
    return (err as Error).message;
  }
  throw new Error('did not throw');
}

function rosterOf(keys: Record<string, Uint8Array>): SecAggRoster {
  return parseSecAggRoster(Object.fromEntries(Object.entries(keys).map(([id, k]) => [id, toBase64(k)])), 'roster.json');
}

describe('secaggRoster setting', () => {
  const a = toBase64(generateIdentityKeyPair().publicKey);
  const b = toBase64(generateIdentityKeyPair().publicKey);

  it('is read and checked at load, from the environment or the config file', () => {
    const file = rosterFile('good.json', { 'bank-a': a, 'bank-b': b });
    expect(BANK_ENV.FINSECURE_SECAGG_ROSTER).toEqual({ key: 'secaggRoster', type: 'string' });
    const fromEnv = loadBankConfig({ env: { FINSECURE_SECAGG_ROSTER: file }, flags: base });
    expect(fromEnv.secaggRoster).toEqual({ file, keys: { 'bank-a': a, 'bank-b': b } });
    const config = rosterFile('bank.json', { ...base, secaggRoster: file });
    expect(loadBankConfig({ file: config }).secaggRoster?.keys).toEqual({ 'bank-a': a, 'bank-b': b });
    // Without it: no roster (trust on first use).
    expect(loadBankConfig({ flags: base }).secaggRoster).toBeUndefined();
  });

  it('refuses a bad roster at load, naming the setting, the file and what is wrong', () => {
    const load = (content: unknown) => {
      const file = rosterFile('bad.json', content);
      return { file, m: messageOf(() => loadBankConfig({ env: { FINSECURE_SECAGG_ROSTER: file }, flags: base })) };
    };
    let { file, m } = load('{"bank-a": ');
    expect(m).toContain(`FINSECURE_SECAGG_ROSTER: secure-aggregation roster ${file}`);
    expect(m).toContain('is not valid JSON');
    ({ file, m } = load([a, b]));
    expect(m).toContain(`FINSECURE_SECAGG_ROSTER: ${file}: an array: expected a JSON object mapping each bank id`);
    ({ m } = load({}));
    expect(m).toMatch(/lists no bank/);
    ({ m } = load({ 'bank-a': a, 'bank-b': 'not a key' }));
    expect(m).toMatch(/the key of "bank-b" is not canonical base64/);
    ({ m } = load({ 'bank-a': a, 'bank-b': toBase64(new Uint8Array(31)) }));
    expect(m).toMatch(/the key of "bank-b" decodes to 31 bytes, an Ed25519 public key has 32/);
    ({ m } = load({ 'bank-a': a, 'bank b': b }));
    expect(m).toMatch(/"bank b" is not a bank id/);
    ({ m } = load({ 'bank-a': a, 'bank-b': a }));
    expect(m).toMatch(/"bank-a" and "bank-b" have the same key/);
    m = messageOf(() =>
      loadBankConfig({ env: { FINSECURE_SECAGG_ROSTER: path.join(dir, 'missing.json') }, flags: base }),
    );
    expect(m).toMatch(/FINSECURE_SECAGG_ROSTER: cannot read secure-aggregation roster .*missing\.json: no such file/);
    // From a config file: the file, line and column of the setting.
    const config = rosterFile('bank-bad.json', { ...base, secaggRoster: path.join(dir, 'missing.json') });
    expect(messageOf(() => loadBankConfig({ file: config }))).toMatch(
      /bank-bad\.json:1:\d+: secaggRoster: cannot read/,
    );
  });

  it('--help explains it, and what trust on first use does not protect against', () => {
    const help = bankSettingsHelp(new Set(['seed']));
    expect(help).toMatch(/secaggRoster +env FINSECURE_SECAGG_ROSTER; config file only: JSON file mapping/);
    expect(help).toMatch(/invents banks whose keys it holds/);
  });
});

describe('a bank with a roster', () => {
  const ids = ['bank-a', 'bank-b', 'bank-c'];
  const identities = ids.map(() => generateIdentityKeyPair());
  const consortium = rosterOf(Object.fromEntries(ids.map((id, i) => [id, identities[i]!.publicKey])));

  it('declines a round naming banks not on its roster, naming them (and nothing local)', async () => {
    // The aggregator names bank-a and two banks it invented, whose keys it holds.
    const [a] = simBanks({ ids: ['bank-a'], identities: [identities[0]!], roster: consortium });
    const fakes = simBanks({ ids: ['zz-fake-1', 'zz-fake-2'] });
    await expect(openRound([a!, ...fakes], { threshold: 2, fixedPoint })).rejects.toThrow(/not secagg_keys/);
    const refused = lastSent(a!, 'secagg_refused');
    expect(refused.stage).toBe('advertise_keys');
    expect(refused.code).toBe('protocol_violation');
    expect(refused.banks).toEqual(['zz-fake-1', 'zz-fake-2']);
    expect(refused.reason).toBe(
      "advertise_keys: zz-fake-1, zz-fake-2 are not on this bank's secure-aggregation roster; refusing the round",
    );
    // Outward-safe: bank ids only, never the roster's or the state directory's path.
    expect(refused.reason).not.toContain('roster.json');
    expect(refused.reason).not.toContain(a!.stateDir);
    expect(a!.sent.map((m) => m.type)).toEqual(['secagg_refused']);

    // Without a roster (trust on first use) the same round goes on: what the roster is for.
    const [tofu] = simBanks({ ids: ['bank-a'], identities: [identities[0]!] });
    await openRound([tofu!, ...simBanks({ ids: ['zz-fake-1', 'zz-fake-2'] })], { threshold: 2, fixedPoint });
    expect(lastSent(tofu!, 'secagg_shares').shares.map((s) => s.to)).toEqual(['zz-fake-1', 'zz-fake-2']);
  });

  it('declines a round forwarding another key for a bank on its roster', async () => {
    const banks = simBanks({ ids, identities, roster: consortium });
    const directory = new Map(banks.map((b) => [b.id, b.identity.publicKey]));
    directory.set('bank-c', generateIdentityKeyPair().publicKey); // swapped by the aggregator
    await expect(openRound(banks, { threshold: 2, fixedPoint, directory })).rejects.toThrow(/not secagg_keys/);
    const refused = lastSent(banks[0]!, 'secagg_refused');
    expect(refused.code).toBe('inconsistent');
    expect(refused.banks).toEqual(['bank-c']);
    expect(refused.reason).toMatch(
      /identity key of bank-c differs from the one on this bank's secure-aggregation roster/,
    );
  });

  it('takes part when every participant is on the roster with its key', async () => {
    const banks = simBanks({ ids, identities, roster: consortium });
    const r = await openRound(banks, { threshold: 2, fixedPoint });
    for (const b of banks) expect(lastSent(b, 'secagg_shares').shares).toHaveLength(2);
    expect(r.agg.sharesFor('bank-a').map((s) => s.from)).toEqual(['bank-b', 'bank-c']);
  });
});

describe('PinnedIdentities', () => {
  it('with a roster, checks participants and keys against it and pins nothing', () => {
    const sd = path.join(dir, 'pins');
    mkdirSync(sd, { recursive: true });
    const a = generateIdentityKeyPair().publicKey;
    const roster = rosterOf({ 'bank-a': a });
    const pinned = new PinnedIdentities(sd, undefined, roster);
    pinned.check(new Map([['bank-a', a]]));
    const err = (() => {
      try {
        pinned.check(new Map([['bank-a', a]]), { participants: ['bank-a', 'bank-x'] });
      } catch (e) {
        return e as SecAggError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(SecAggError);
    expect(err!.banks).toEqual(['bank-x']);
    // Trust on first use (no roster) would have pinned bank-x; the roster does not.
    expect(() => new PinnedIdentities(sd).check(new Map([['bank-x', a]]))).not.toThrow();
  });

  it("without a roster, a changed key's refusal names the pinned file, not its path", () => {
    const sd = path.join(dir, 'tofu');
    new PinnedIdentities(sd).check(new Map([['bank-b', new Uint8Array(32).fill(1)]]));
    expect(() => new PinnedIdentities(sd).check(new Map([['bank-b', new Uint8Array(32).fill(2)]]))).toThrow(
      /^advertise_keys: the identity key of bank-b differs from the one this bank pinned \(secagg-identities\.json\)/,
    );
    try {
      new PinnedIdentities(sd).check(new Map([['bank-b', new Uint8Array(32).fill(2)]]));
    } catch (e) {
      expect((e as Error).message).not.toContain(sd);
    }
  });

  it("two instances over one state directory (training's and analytics') see each other's pins", () => {
    const sd = path.join(dir, 'two');
    const training = new PinnedIdentities(sd);
    const analytics = new PinnedIdentities(sd); // made at start, before training pinned anyone
    const real = new Uint8Array(32).fill(3);
    training.check(new Map([['bank-c', real]]));
    // The aggregator sends another key for bank-c to the analytics job: refused, the pin kept.
    expect(() => analytics.check(new Map([['bank-c', new Uint8Array(32).fill(4)]]))).toThrow(
      /identity key of bank-c differs from the one this bank pinned/,
    );
    expect(() => new PinnedIdentities(sd).check(new Map([['bank-c', real]]))).not.toThrow();
    // A bank the analytics instance pins is kept beside training's, not written over them.
    analytics.check(new Map([['bank-d', new Uint8Array(32).fill(5)]]));
    expect(() =>
      training.check(
        new Map([
          ['bank-c', real],
          ['bank-d', new Uint8Array(32).fill(5)],
        ]),
      ),
    ).not.toThrow();
  });
});

describe('at start', () => {
  function logs() {
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const log =
      (level: string) =>
      (a: unknown, b?: unknown): void => {
        if (typeof a === 'string') lines.push({ level, obj: {}, msg: a });
        else lines.push({ level, obj: a as Record<string, unknown>, msg: String(b) });
      };
    return { lines, logger: { info: log('info'), warn: log('warn') } as never };
  }

  it('readIdentity gives the key a roster entry needs, and never makes one', () => {
    const sd = path.join(dir, 'identity');
    expect(readIdentity(sd)).toBeNull();
    const made = loadOrCreateIdentity(sd);
    expect(toBase64(readIdentity(sd)!.publicKey)).toBe(toBase64(made.publicKey));
    expect(toBase64(loadOrCreateIdentity(sd).publicKey)).toBe(toBase64(made.publicKey));
  });

  it("logs the bank's identity key, and warns once without a roster", () => {
    const id = generateIdentityKeyPair();
    const { lines, logger } = logs();
    announceSecAggIdentity('bank-a', id, null, logger);
    expect(lines[0]).toMatchObject({ level: 'info', obj: { bankId: 'bank-a', identityKey: toBase64(id.publicKey) } });
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/without a roster \(secaggRoster\).*trusts .* on first use/);
  });

  it('with a roster: no warning, unless the roster leaves this bank out or lists another key for it', () => {
    const id = generateIdentityKeyPair();
    let { lines, logger } = logs();
    announceSecAggIdentity('bank-a', id, rosterOf({ 'bank-a': id.publicKey }), logger);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
    ({ lines, logger } = logs());
    announceSecAggIdentity('bank-a', id, rosterOf({ 'bank-b': id.publicKey }), logger);
    expect(lines.find((l) => l.level === 'warn')!.msg).toMatch(/does not list this bank \(bank-a\)/);
    ({ lines, logger } = logs());
    announceSecAggIdentity('bank-a', id, rosterOf({ 'bank-a': generateIdentityKeyPair().publicKey }), logger);
    expect(lines.find((l) => l.level === 'warn')!.msg).toMatch(/lists another key for this bank \(bank-a\)/);
  });
});
