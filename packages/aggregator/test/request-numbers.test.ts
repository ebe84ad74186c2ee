/**
 * Out-of-range numbers in a request are a 400 naming the field, never a 500 (server/request-limits.ts
 * boundNumbers, server/schema.ts parseInput): Ajv coerces "1e309" to Infinity and
 * "99999999999999999999999" to 1e23, which used to pass `type: integer` and then make a store
 * or a zod `.parse` throw in the handler. Real HTTP on 127.0.0.1, a real SQLite file.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAggregator } from '../src/index.js';
import { boundNumbers } from '../src/server/request-limits.js';
import { api, cleanup, rawApi, startTestAggregator, tempDir } from './helpers/federation.js';

let dir: string;
let agg: RunningAggregator;
beforeAll(async () => {
  dir = tempDir();
  agg = await startTestAggregator(path.join(dir, 'numbers'));
});
afterAll(async () => {
  await agg.close();
  cleanup(dir);
});

const BAD = ['1e309', '1e30', '-1', 'abc'] as const;

/** [method, url with X where the bad value goes, the field the message must name]. */
const QUERY_AND_PATH: [string, string, string][] = [
  ['GET', '/api/rounds?limit=X', 'querystring/limit'],
  ['GET', '/api/rounds?before=X', 'querystring/before'],
  ['GET', '/api/rounds/X', 'params/id'],
  ['GET', '/api/jobs?limit=X', 'querystring/limit'],
  ['GET', '/api/jobs?before=X', 'querystring/before'],
  ['GET', '/api/jobs/X', 'params/id'],
  ['GET', '/api/metrics/series?limit=X', 'querystring/limit'],
  ['GET', '/api/metrics/series?after=X', 'querystring/after'],
  ['GET', '/api/audit?limit=X', 'querystring/limit'],
  ['GET', '/api/audit?after=X', 'querystring/after'],
  ['GET', '/api/models/X', 'params/version'],
  ['GET', '/api/models/X/model.json', 'params/version'],
  ['GET', '/api/models/X/weights.bin', 'params/version'],
  ['POST', '/api/models/X/rollback', 'params/version'],
  ['GET', '/api/banks/north?limit=X', 'querystring/limit'],
];

const raw = (method: string, url: string, body?: string) => rawApi(agg, method, url, body);

describe('numbers in the query string and the path', () => {
  it.each(QUERY_AND_PATH)('%s %s: 1e309, 1e30, -1 and "abc" are a 400 naming %s', async (method, url, field) => {
    for (const bad of [...BAD, '99999999999999999999999', '-1e309']) {
      const r = await raw(method, url.replace('X', bad));
      expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
      expect(r.message, `${method} ${url} with ${bad}`).toContain(field);
    }
  });

  it('still takes an ordinary value', async () => {
    expect((await api(agg, 'GET', '/api/rounds?limit=5&before=9007199254740991')).status).toBe(200);
    expect((await api(agg, 'GET', '/api/audit?after=0&limit=10')).status).toBe(200);
    expect((await api(agg, 'GET', '/api/models/0')).status).toBe(200);
    expect((await api(agg, 'GET', '/api/models/9007199254740991')).status).toBe(404);
  });
});

describe('numbers in a JSON body', () => {
  it('POST /api/training/start: additionalRounds out of range is a 400 naming it, and training does not start', async () => {
    const bodies = [
      ...BAD.map((b) => JSON.stringify({ additionalRounds: b })),
      // JSON itself: 1e309 parses to Infinity, 1e30 to a float past any safe integer.
      '{"additionalRounds":1e309}',
      '{"additionalRounds":-1e309}',
      '{"additionalRounds":1e30}',
      '{"additionalRounds":-1}',
      '{"additionalRounds":2.5}',
    ];
    for (const body of bodies) {
      const r = await raw('POST', '/api/training/start', body);
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
      expect(r.message, body).toContain('body/additionalRounds');
    }
    const status = await api<{ state: string }>(agg, 'GET', '/api/status');
    expect(status.body.state).not.toBe('running');
  });

  it('POST /api/tokens: an expiresInDays past a safe integer is a 400 naming it', async () => {
    for (const days of ['1e309', '1e30', '"1e309"', '"abc"']) {
      const r = await raw('POST', '/api/tokens', `{"name":"n","role":"viewer","expiresInDays":${days}}`);
      expect({ days, status: r.status }).toEqual({ days, status: 400 });
      expect(r.message).toContain('expiresInDays');
    }
  });
});

describe('every numeric field the API documents', () => {
  it('is a 400, never a 500, for 1e309, 1e30, -1e309 and "abc" (query string and path)', async () => {
    const doc = (await (await fetch(`${agg.url}/docs/json`)).json()) as {
      paths: Record<
        string,
        Record<string, { parameters?: { in: string; name: string; schema?: { type?: unknown } }[] }>
      >;
    };
    const numeric = (t: unknown) => [t].flat().some((x) => x === 'integer' || x === 'number');
    let tried = 0;
    for (const [route, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const p of op.parameters ?? []) {
          if (!numeric(p.schema?.type) || (p.in !== 'query' && p.in !== 'path')) continue;
          for (const bad of ['1e309', '1e30', '-1e309', 'abc']) {
            // Other path parameters get a harmless value; the bad one goes where it belongs.
            let url = route.replace(/\{(\w+)\}/g, (_m, name: string) =>
              p.in === 'path' && name === p.name ? bad : name === 'version' || name === 'id' ? '1' : 'x',
            );
            if (p.in === 'query') url += `?${p.name}=${bad}`;
            const r = await raw(method.toUpperCase(), url);
            expect({ url, method, status: r.status }).toEqual({ url, method, status: 400 });
            expect(r.message, `${method} ${url}`).toContain(`${p.in === 'query' ? 'querystring' : 'params'}/${p.name}`);
            tried++;
          }
        }
      }
    }
    expect(tried).toBeGreaterThanOrEqual(4 * QUERY_AND_PATH.length);
  });
});

describe('boundNumbers', () => {
  it('bounds integers to safe integers and numbers to finite ones, keeping tighter bounds, at any depth', () => {
    const out = boundNumbers({
      type: 'object',
      properties: {
        a: { type: 'integer', minimum: 1, maximum: 10 },
        b: { type: ['integer', 'null'] },
        c: { type: 'number' },
        e: { type: 'integer', maximum: 1e20 },
        d: { type: 'array', items: { anyOf: [{ type: 'integer' }, { type: 'string' }] } },
      },
    });
    const M = Number.MAX_SAFE_INTEGER;
    expect(out).toEqual({
      type: 'object',
      properties: {
        a: { type: 'integer', minimum: 1, maximum: 10 },
        b: { type: ['integer', 'null'], minimum: -M, maximum: M },
        c: { type: 'number', minimum: -Number.MAX_VALUE, maximum: Number.MAX_VALUE },
        e: { type: 'integer', minimum: -M, maximum: M },
        d: { type: 'array', items: { anyOf: [{ type: 'integer', minimum: -M, maximum: M }, { type: 'string' }] } },
      },
    });
  });
});
