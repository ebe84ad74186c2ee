/**
 * The console over HTTPS (`--console-tls-cert`/`--console-tls-key`, ConsoleOptions.tls), with a
 * certificate made by deploy/make-tls-certs.sh and checked against its CA: the sign-in cookies
 * are `__Host-` and `Secure`, HSTS is on, and the session works by them. Over plain HTTP (the
 * default, for 127.0.0.1) they are neither.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPerson, cleanup, PASSWORD, startConsole, tempDir, type RunningConsole } from './helpers/console.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let dir: string;
let tls: RunningConsole;
let plain: RunningConsole;

/** One HTTPS request trusting only the test CA. */
function call(
  url: string,
  method: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: readFileSync(path.join(dir, 'tls/ca.crt')),
        headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

beforeAll(async () => {
  dir = tempDir('finsecure-console-tls-');
  execFileSync('sh', [path.join(repo, 'deploy/make-tls-certs.sh'), path.join(dir, 'tls')], { stdio: 'ignore' });
  tls = await startConsole(path.join(dir, 'tls-state'), {
    tls: { cert: readFileSync(path.join(dir, 'tls/server.crt')), key: readFileSync(path.join(dir, 'tls/server.key')) },
  });
  await addPerson(tls, 'ann', 'analyst');
  plain = await startConsole(path.join(dir, 'plain-state'));
  await addPerson(plain, 'ann', 'analyst');
}, 60_000);

afterAll(async () => {
  await tls?.close();
  await plain?.close();
  cleanup(dir);
});

describe('the bank console over TLS', () => {
  it('serves HTTPS with Secure __Host- cookies and HSTS; the session works by them', async () => {
    expect(tls.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const login = await call(`${tls.url}/api/auth/login`, 'POST', {}, { username: 'ann', password: PASSWORD });
    expect(login.status).toBe(200);
    expect(login.headers['strict-transport-security']).toMatch(/max-age=31536000/);
    const set = login.headers['set-cookie'] as string[];
    const session = set.find((c) => c.startsWith('__Host-fsb_session='))!;
    const csrf = set.find((c) => c.startsWith('__Host-fsb_csrf='))!;
    for (const c of [session, csrf]) {
      expect(c).toMatch(/; Secure/i);
      expect(c).toMatch(/SameSite=Strict/i);
      expect(c).not.toMatch(/Domain=/i);
    }
    expect(session).toMatch(/HttpOnly/i);
    const cookie = [session, csrf].map((c) => c.split(';')[0]).join('; ');
    const who = await call(`${tls.url}/api/whoami`, 'GET', { cookie });
    expect(who.status).toBe(200);
    expect(JSON.parse(who.body)).toMatchObject({ username: 'ann', role: 'analyst' });
  });

  it('over plain HTTP (the default) sets neither Secure nor HSTS', async () => {
    const res = await fetch(`${plain.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ann', password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('strict-transport-security')).toBeNull();
    const set = res.headers.getSetCookie();
    expect(set.some((c) => c.startsWith('fsb_session=') && !/; Secure/i.test(c))).toBe(true);
  });
});
