/**
 * What a refused request is told (@finsecure/accounts/http json-body.ts and validators.ts): a
 * JSON body's syntax error with its line and column, a `__proto__` key named as such (Fastify
 * called both "Body is not valid JSON"), an unknown field or query parameter by its name, and
 * every route that reads a query refusing parameters it does not know. Real HTTP on 127.0.0.1,
 * a real SQLite file.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonBody } from '@finsecure/accounts/http';
import type { RunningAggregator } from '../src/index.js';
import { api, cleanup, rawApi, startTestAggregator, tempDir } from './helpers/federation.js';

let dir: string;
let agg: RunningAggregator;
beforeAll(async () => {
  dir = tempDir();
  agg = await startTestAggregator(path.join(dir, 'input'));
});
afterAll(async () => {
  await agg.close();
  cleanup(dir);
});

const raw = (method: string, url: string, body?: string) => rawApi(agg, method, url, body);

describe('parseJsonBody', () => {
  it('parses JSON and refuses prototype keys anywhere, naming them', () => {
    expect(parseJsonBody('{"a":[1,{"b":null}]}')).toEqual({ a: [1, { b: null }] });
    for (const text of ['{"__proto__":{"admin":true}}', '{"a":[{"constructor":{"prototype":{"x":1}}}]}'])
      expect(() => parseJsonBody(text), text).toThrow(/"__proto__" key.*prototype pollution/);
    // A constructor key alone is data, not a pollution attempt.
    expect(parseJsonBody('{"constructor":"x"}')).toEqual({ constructor: 'x' });
  });

  it('gives the line and column of a syntax error, and a 400 status', () => {
    let err: (Error & { statusCode?: number }) | undefined;
    try {
      parseJsonBody('{\n  "id": "north",\n  "x": ,\n}');
    } catch (e) {
      err = e as Error & { statusCode?: number };
    }
    expect(err?.statusCode).toBe(400);
    expect(err?.message).toMatch(/^the body is not valid JSON: .*\(line 3, column 8\)$/);
    expect(() => parseJsonBody('')).toThrow(/the body is empty/);
    // V8 quotes the text it could not read: a body may hold a password, and none of it is repeated.
    expect(() => parseJsonBody('{"username":"ana","password": hunter2-secret}')).toThrow(
      /^the body is not valid JSON: [^"]*\(line 1, column 31\)$/,
    );
    expect(() => parseJsonBody('{"password": "hunter2-secret"')).not.toThrow(/hunter2/);
    // A byte-order mark is skipped, as the parser skips it: the column is the one an editor shows.
    expect(() => parseJsonBody('\uFEFF{"id":}')).toThrow(/\(line 1, column 7\)$/);
  });
});

describe('the API', () => {
  it('says why a JSON body is refused, and stores nothing of it', async () => {
    const proto = await raw('POST', '/api/banks', '{"id":"polluted","__proto__":{"isAdmin":true}}');
    expect(proto).toMatchObject({ status: 400, error: 'bad_request' });
    expect(proto.message).toMatch(/"__proto__" key/);
    const broken = await raw('POST', '/api/banks', '{"id": "north",}');
    expect(broken).toMatchObject({ status: 400, error: 'bad_request' });
    expect(broken.message).toMatch(/^the body is not valid JSON: .*\(line 1, column 16\)$/);
    const empty = await raw('POST', '/api/banks', '');
    expect(empty.status).toBe(400);
    expect(empty.message).toMatch(/empty/);
    const banks = await api<{ id: string }[]>(agg, 'GET', '/api/banks');
    expect(banks.body.map((b) => b.id)).not.toContain('polluted');
  });

  it('answers a body nested too deeply to read with a 400, signed in or not', async () => {
    // Placing a syntax error (jsonc-parser) and scanning for __proto__ (secure-json-parse)
    // recurse once per level: 20,000 levels overflowed the stack, and the error was a 500.
    for (const [url, body] of [
      ['/api/banks', '['.repeat(20_000)],
      ['/api/banks', `{"constructor":1,"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}`],
    ] as const) {
      const r = await raw('POST', url, body);
      expect(r, url).toMatchObject({ status: 400, error: 'bad_request' });
    }
    const login = await fetch(`${agg.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '['.repeat(20_000),
    });
    expect(login.status).toBe(400);
    expect(((await login.json()) as { message: string }).message).toMatch(/^the body is not valid JSON/);
  });

  it('names an unknown body field, quoted and shortened as it came from the caller', async () => {
    const r = await raw('POST', '/api/banks', '{"id":"north","colour":"red"}');
    expect(r.status).toBe(400);
    expect(r.message).toBe('body must NOT have additional properties: "colour" is not one of its fields');
    const odd = await raw('POST', '/api/banks', JSON.stringify({ id: 'north', ['x"y\nz' + 'k'.repeat(500)]: 1 }));
    expect(odd.status).toBe(400);
    expect(odd.message).toBe(
      `body must NOT have additional properties: ${JSON.stringify('x"y\nz' + 'k'.repeat(59) + '…')} is not one of its fields`,
    );
  });

  it.each([
    '/api/rounds?limt=5',
    '/api/jobs?limt=5',
    '/api/metrics/series?limt=5',
    '/api/audit?limt=5',
    '/api/banks/north?limt=5',
  ])('GET %s: an unknown query parameter is a 400 naming it', async (url) => {
    const r = await raw('GET', url);
    expect(r.status, url).toBe(400);
    expect(r.message).toBe('querystring must NOT have additional properties: "limt" is not one of its fields');
  });

  it.each(['/api/banks?limit=5', '/api/status?verbose=1', '/api/privacy?limit=5'])(
    'GET %s: a route that takes no query parameters refuses one, naming it',
    async (url) => {
      const r = await raw('GET', url);
      expect(r.status, url).toBe(400);
      const name = url.slice(url.indexOf('?') + 1).split('=')[0]!;
      expect(r.message).toBe(`querystring must NOT have additional properties: "${name}" is not one of its fields`);
    },
  );

  it('still takes the parameters a route knows', async () => {
    for (const url of [
      '/api/rounds?limit=5',
      '/api/jobs?limit=5',
      '/api/metrics/series?limit=5',
      '/api/audit?limit=5',
      '/api/banks',
      '/api/status',
    ])
      expect((await raw('GET', url)).status, url).toBe(200);
  });
});
