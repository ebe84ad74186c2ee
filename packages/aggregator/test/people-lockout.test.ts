/**
 * The sign-in lockout over real HTTP and a real SQLite file, with an injected clock: a name
 * without an account answers exactly as an account does, lockout included (no user enumeration
 * by counting to six), and parallel guesses at one account are checked one at a time on its
 * stored count, so that they cannot all be hashed before the first failures lock it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newTotpSecret, UnknownNameLockouts } from '@finsecure/accounts';
import { Browser, GOOD_PASSWORD, startPeopleServer, totpAt, type PeopleServer } from './helpers/people.js';

let server: PeopleServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function withAlice(): Promise<PeopleServer> {
  server = await startPeopleServer();
  await server.accounts.createAccount({ username: 'alice', role: 'auditor', password: GOOD_PASSWORD }, 'test');
  return server;
}

describe('the sign-in lockout', () => {
  it('answers a name without an account as it answers an account: five 401s, then 429 until the lock lapses', async () => {
    const s = await withAlice();
    const b = new Browser(s.url);
    const answers = async (username: string) => {
      const out: string[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await b.login(username, `guess number ${i}`);
        out.push(`${r.status} ${r.body.error} ${r.body.message}`);
      }
      return out;
    };
    const alice = await answers('alice');
    const nobody = await answers('nobody');
    expect(nobody).toEqual(alice);
    expect(alice.slice(0, 5).every((a) => a.startsWith('401 bad_credentials'))).toBe(true);
    expect(alice.slice(5)).toEqual(
      Array(2).fill('429 locked too many failed sign-ins: this account is locked for 15 more minute(s)'),
    );
    // Both lapse together.
    s.clock.now += 15 * 60_000 + 1;
    expect((await b.login('nobody', 'one more')).status).toBe(401);
    expect((await b.login('alice', GOOD_PASSWORD)).status).toBe(200);
    // The auditors still see which was which (a name without an account only by its length and tag).
    const locks = (await s.audit()).filter((e) => e.type === 'auth.locked');
    expect(locks.map((e) => [e.actor, e.details.unknownUser ?? false])).toEqual([
      ['alice', false],
      [expect.stringMatching(/^unknown-user:6:[0-9a-f]{12}$/), true],
    ]);
  });

  it('checks parallel guesses at one account one at a time: five are counted, the rest are refused unhashed', async () => {
    const s = await withAlice();
    const tries = await Promise.all(
      Array.from({ length: 8 }, (_, i) => new Browser(s.url).login('alice', `parallel guess ${i}`)),
    );
    expect(tries.map((r) => r.status).sort()).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const types = (await s.audit()).map((e) => e.type);
    expect(types.filter((t) => t === 'auth.login_failed')).toHaveLength(5);
    expect(types.filter((t) => t === 'auth.locked')).toHaveLength(1);
    expect((await new Browser(s.url).login('alice', GOOD_PASSWORD)).status).toBe(429);
  });

  it('checks parallel second-factor codes one at a time: five are counted, the rest are refused', async () => {
    const s = await withAlice();
    const alice = (await s.store.accounts.getAccountByUsername('alice'))!;
    const secret = newTotpSecret();
    await s.store.accounts.updateAccount(alice.id, { totpSecret: secret, totpEnabledAt: s.clock.now });
    const client = { ip: '198.51.100.7', userAgent: 'test' };
    const pending = await s.accounts.login({ username: 'alice', password: GOOD_PASSWORD }, client);
    expect(pending.session.stage).toBe('mfa');
    // Eight codes that are surely wrong: none of the three the clock accepts (one step either side).
    const valid = await Promise.all([-30_000, 0, 30_000].map((dt) => totpAt(secret, s.clock.now + dt)));
    const wrong = Array.from({ length: 20 }, (_, i) => String(100_000 + i * 7919)).filter((c) => !valid.includes(c));
    const tries = await Promise.all(
      wrong.slice(0, 8).map((c) =>
        s.accounts.verifyMfa(pending.sessionId, c, client).then(
          () => 200,
          (e: { status: number }) => e.status,
        ),
      ),
    );
    expect(tries.sort()).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const types = (await s.audit()).map((e) => e.type);
    expect(types.filter((t) => t === 'auth.login_failed')).toHaveLength(5);
    expect(types.filter((t) => t === 'auth.locked')).toHaveLength(1);
  });

  it('remembers a bounded number of unknown names, forgetting unlocked ones with the fewest failures first', () => {
    const policy = { maxFailures: 2, lockMs: 1_000 };
    const table = new UnknownNameLockouts(3);
    for (const name of ['a', 'b', 'c']) table.fail(name, 0, policy);
    expect(table.fail('a', 0, policy)).toEqual({ failures: 2, locked: true }); // 'a' is now the most recent
    table.fail('d', 0, policy); // forgets 'b'
    expect(table.size).toBe(3);
    expect(table.fail('b', 0, policy)).toEqual({ failures: 1, locked: false });
    expect(table.lockedUntil('a', 999)).toBe(1_000);
    expect(table.lockedUntil('a', 1_000)).toBeNull();
    // A flood of single tries at new names forgets neither a lock nor a count of several failures.
    const three = { maxFailures: 3, lockMs: 1_000 };
    const probed = new UnknownNameLockouts(3);
    for (let i = 0; i < 3; i++) probed.fail('locked', 0, three);
    for (let i = 0; i < 2; i++) probed.fail('counted', 0, three);
    for (let i = 0; i < 50; i++) probed.fail(`junk ${i}`, 0, three);
    expect(probed.lockedUntil('locked', 999)).toBe(1_000);
    expect(probed.fail('counted', 0, three)).toEqual({ failures: 3, locked: true });
  });
});
