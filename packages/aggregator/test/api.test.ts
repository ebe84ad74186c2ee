/** The admin REST API over real HTTP: roles, validation, banks, config, metrics, docs, model download. */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAggregator } from '../src/index.js';
import { ADMIN, VIEWER, api, cleanup, startTestAggregator, tempDir } from './helpers/federation.js';

let dir: string;
let agg: RunningAggregator;
beforeAll(async () => {
  dir = tempDir();
  agg = await startTestAggregator(path.join(dir, 'api'));
});
afterAll(async () => {
  await agg.close();
  cleanup(dir);
});

describe('admin API', () => {
  it('health is public and reports version, store and the training backend', async () => {
    const res = await fetch(`${agg.url}/api/health`);
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', store: 'sqlite', backend: 'wasm', version: '0.1.0' });
  });

  it('requires a token to read and the admin token to change anything', async () => {
    expect((await fetch(`${agg.url}/api/rounds`)).status).toBe(401);
    expect((await api(agg, 'GET', '/api/rounds', undefined, 'wrong-token-wrong-token')).status).toBe(401);
    expect((await api(agg, 'GET', '/api/rounds', undefined, VIEWER)).status).toBe(200);
    const denied = await api<{ message: string }>(agg, 'POST', '/api/training/start', undefined, VIEWER);
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/admin token/);
    expect((await api(agg, 'POST', '/api/banks', { id: 'v' }, VIEWER)).status).toBe(403);
    expect((await api<{ role: string }>(agg, 'GET', '/api/whoami', undefined, VIEWER)).body.role).toBe('viewer');
    expect((await api<{ role: string }>(agg, 'GET', '/api/whoami', undefined, ADMIN)).body.role).toBe('admin');
    // The dashboard's first question: 200 whoever asks, what whoami says only to a caller it accepts.
    const anonymous = await fetch(`${agg.url}/api/auth/session`);
    expect([anonymous.status, await anonymous.json()]).toEqual([200, { signedIn: false }]);
    const wrong = await api<{ signedIn: boolean }>(agg, 'GET', '/api/auth/session', undefined, 'not-a-token-of-ours');
    expect([wrong.status, wrong.body]).toEqual([200, { signedIn: false }]);
    const viewer = await api<{ signedIn: boolean; role: string }>(agg, 'GET', '/api/auth/session', undefined, VIEWER);
    expect([viewer.status, viewer.body.signedIn, viewer.body.role]).toEqual([200, true, 'viewer']);
  });

  it('creates banks once, shows the token only at creation, stores only its hash', async () => {
    const created = await api<{ token: string }>(agg, 'POST', '/api/banks', { id: 'north', name: 'North Bank' });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^fst_[A-Za-z0-9_-]{43}$/);
    const dup = await api<{ message: string }>(agg, 'POST', '/api/banks', { id: 'north' });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toBe('bank "north" already exists');
    const bad = await api<{ message: string }>(agg, 'POST', '/api/banks', { id: 'no spaces allowed' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/id/);
    const list = await api<{ id: string; connected: boolean }[]>(agg, 'GET', '/api/banks', undefined, VIEWER);
    expect(list.body.map((b) => b.id)).toContain('north');
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    const stored = await agg.store.getBank('north');
    expect(stored!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(created.body.token);
    const rotated = await api<{ token: string }>(agg, 'POST', '/api/banks/north/token');
    expect(rotated.body.token).not.toBe(created.body.token);
    // A token is shown once: neither answer may be kept by a cache.
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const fresh = await fetch(`${agg.url}/api/banks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ id: 'south' }),
    });
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get('cache-control')).toBe('no-store');
    const again = await fetch(`${agg.url}/api/banks/south/token`, {
      method: 'POST',
      headers: { authorization: headers.authorization },
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('cache-control')).toBe('no-store');
    expect((await api(agg, 'DELETE', '/api/banks/ghost')).status).toBe(404);
  });

  it('checks the token before validating the request', async () => {
    const res = await fetch(`${agg.url}/api/banks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
  });

  it('refuses a misspelt setting, naming it and the setting it resembles, and changes nothing', async () => {
    const before = (await api<Record<string, unknown>>(agg, 'GET', '/api/config')).body;
    const auditBefore = (await api<unknown[]>(agg, 'GET', '/api/audit?limit=10000')).body.length;
    const r = await api<{ error: string; message: string }>(agg, 'PUT', '/api/config', {
      rules: { quorm: 1, rounds: 9 },
      training: { epocs: 9 },
    });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('unknown setting "rules.quorm" (did you mean "rules.quorum"?)');
    expect(r.body.message).toContain('unknown setting "training.epocs" (did you mean "training.epochs"?)');
    expect((await api(agg, 'GET', '/api/config')).body).toEqual(before);
    expect((await api<unknown[]>(agg, 'GET', '/api/audit?limit=10000')).body).toHaveLength(auditBefore);
  });

  it('changes only the config fields an admin sends, and can remove differential privacy', async () => {
    await api(agg, 'PUT', '/api/config', {
      training: { updateEncoding: 'int8', smoteK: 7, dp: { clip: 1, noiseMultiplier: 1 } },
    });
    const r = await api<{ training: Record<string, unknown> }>(agg, 'PUT', '/api/config', { training: { epochs: 4 } });
    expect(r.body.training).toMatchObject({
      epochs: 4,
      updateEncoding: 'int8',
      smoteK: 7,
      dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5 },
    });
    const removed = await api<{ training: Record<string, unknown> }>(agg, 'PUT', '/api/config', {
      training: { dp: null },
    });
    expect(removed.body.training.dp).toBeUndefined();
    expect(removed.body.training.updateEncoding).toBe('int8');
    // The SMOTE cap is set and removed the same way; a required field cannot be removed.
    const capped = await api<{ training: Record<string, unknown> }>(agg, 'PUT', '/api/config', {
      training: { smoteMaxMultiplier: 5 },
    });
    expect(capped.body.training.smoteMaxMultiplier).toBe(5);
    const uncapped = await api<{ training: Record<string, unknown> }>(agg, 'PUT', '/api/config', {
      training: { smoteMaxMultiplier: null },
    });
    expect('smoteMaxMultiplier' in uncapped.body.training).toBe(false);
    const noEpochs = await api<{ message: string }>(agg, 'PUT', '/api/config', { training: { epochs: null } });
    expect(noEpochs.status).toBe(400);
    expect(noEpochs.body.message).toMatch(/training\.epochs/);
    const unknown = await api<{ message: string }>(agg, 'PUT', '/api/config', { trainin: {} });
    expect(unknown.status).toBe(400);
    await api(agg, 'PUT', '/api/config', { training: { updateEncoding: 'float32', smoteK: 5, epochs: 1 } });
  });

  it('answers 500 to a change the store cannot write, and changes neither the settings, the state nor the audit log', async () => {
    const before = await api<{ training: { epochs: number } }>(agg, 'GET', '/api/config');
    const entries = (await agg.store.listAudit()).length;
    // Another writer holds the database (as a second process would): each change's transaction
    // waits out the busy timeout (5 s) and fails.
    const state = (await api<{ state: string }>(agg, 'GET', '/api/status')).body.state;
    const storedState = await agg.store.getSetting('trainingState');
    const other = new Database(path.join(dir, 'api', 'finsecure.db'));
    other.exec('BEGIN IMMEDIATE');
    try {
      const r = await api<{ message: string }>(agg, 'PUT', '/api/config', { training: { epochs: 9 } });
      expect(r.status).toBe(500);
      // A training command likewise: its state and its entry are one write.
      expect((await api(agg, 'POST', '/api/training/stop')).status).toBe(500);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const after = await api<{ training: { epochs: number } }>(agg, 'GET', '/api/config');
    expect(after.body.training.epochs).toBe(before.body.training.epochs);
    expect((await agg.store.getSetting<{ training: { epochs: number } }>('federation'))!.training.epochs).toBe(
      before.body.training.epochs,
    );
    expect((await api<{ state: string }>(agg, 'GET', '/api/status')).body.state).toBe(state);
    expect(await agg.store.getSetting('trainingState')).toBe(storedState);
    expect(storedState).not.toBe('stopped');
    expect((await agg.store.listAudit()).length).toBe(entries);
    expect((await api(agg, 'PUT', '/api/config', { training: { epochs: 2 } })).status).toBe(200); // and recovers
    expect((await agg.store.listAudit()).slice(entries).map((e) => e.type)).toContain('config.changed');
  }, 40_000);

  it('validates config changes and names the offending setting', async () => {
    const before = await api<{ rules: { quorum: number } }>(agg, 'GET', '/api/config', undefined, VIEWER);
    const bad = await api<{ message: string }>(agg, 'PUT', '/api/config', { rules: { quorum: 5, minBanks: 2 } });
    expect(bad.status).toBe(400);
    // The message says both values, so the admin sees which one to change.
    expect(bad.body.message).toMatch(
      /rules\.quorum: quorum \(5\) cannot exceed minBanks \(2\): a round could never reach it/,
    );
    const badTraining = await api<{ message: string }>(agg, 'PUT', '/api/config', { training: { learningRate: -1 } });
    expect(badTraining.status).toBe(400);
    expect(badTraining.body.message).toMatch(/learningRate/);
    const after = await api<{ rules: { quorum: number } }>(agg, 'GET', '/api/config', undefined, VIEWER);
    expect(after.body).toEqual(before.body);
    const ok = await api<{ training: { epochs: number } }>(agg, 'PUT', '/api/config', { training: { epochs: 3 } });
    expect(ok.status).toBe(200);
    expect(ok.body.training.epochs).toBe(3);
    const audit = await api<{ type: string; actor: string }[]>(agg, 'GET', '/api/audit', undefined, VIEWER);
    // Under the caller's name (before: always "admin", whoever changed it).
    expect(audit.body.filter((e) => e.type === 'config.changed').map((e) => e.actor)).toContain(
      'bootstrap-admin-token',
    );
    expect(audit.body.filter((e) => e.type === 'config.changed').map((e) => e.actor)).not.toContain('admin');
  });

  it('serves the global model in TF.js layers format', async () => {
    const meta = await api<{ version: number; parameters: number; sha256: string }>(
      agg,
      'GET',
      '/api/model',
      undefined,
      VIEWER,
    );
    expect(meta.body).toMatchObject({ version: 0, parameters: 4097 });
    const json = await api<{ format: string; weightsManifest: { weights: { name: string }[] }[] }>(
      agg,
      'GET',
      '/api/model/model.json',
      undefined,
      VIEWER,
    );
    expect(json.body.format).toBe('layers-model');
    expect(json.body.weightsManifest[0]!.weights.map((w) => w.name)).toEqual([
      'dense_1/kernel',
      'dense_1/bias',
      'dense_2/kernel',
      'dense_2/bias',
      'output/kernel',
      'output/bias',
    ]);
    const bin = await fetch(`${agg.url}/api/model/weights.bin`, { headers: { authorization: `Bearer ${VIEWER}` } });
    expect((await bin.arrayBuffer()).byteLength).toBe(4097 * 4);
  });

  it('exposes Prometheus metrics and OpenAPI docs', async () => {
    const metrics = await (await fetch(`${agg.url}/metrics`)).text();
    for (const name of [
      'finsecure_rounds_total',
      'finsecure_round_duration_seconds',
      'finsecure_bytes_total',
      'finsecure_connected_banks',
      'finsecure_rejected_updates_total',
      'finsecure_aggregation_seconds',
    ]) {
      expect(metrics).toContain(name);
    }
    const spec = (await (await fetch(`${agg.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    for (const p of [
      '/api/health',
      '/api/banks',
      '/api/config',
      '/api/rounds',
      '/api/rounds/{id}',
      '/api/audit',
      '/api/audit/verify',
      '/api/model/model.json',
      '/api/training/start',
      // The people and sign-in routes too (they were registered before the OpenAPI plugin, and missing).
      '/api/users',
      '/api/tokens',
      '/api/whoami',
    ]) {
      expect(Object.keys(spec.paths)).toContain(p);
    }
    expect((await fetch(`${agg.url}/docs`)).status).toBeLessThan(400);
  });

  it('refuses a JSON body of the wrong type instead of coercing it (query strings are still read as numbers)', async () => {
    for (const [method, url, body, field] of [
      ['POST', '/api/banks', { id: true }, 'id'],
      ['POST', '/api/banks', { id: ['arr-bank'] }, 'id'],
      ['POST', '/api/banks', { id: 123 }, 'id'],
      ['POST', '/api/training/start', { additionalRounds: '5' }, 'additionalRounds'],
    ] as const) {
      const r = await api<{ error: string; message: string }>(agg, method, url, body);
      expect(r.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
      expect(r.body.message).toContain(field);
    }
    const banks = await api<{ id: string }[]>(agg, 'GET', '/api/banks');
    expect(banks.body.map((b) => b.id)).not.toContain('true');
    expect(banks.body.map((b) => b.id)).not.toContain('123');
    expect((await api(agg, 'GET', '/api/audit?limit=5', undefined, VIEWER)).status).toBe(200);
  });

  it("names the framework's refusals for what they are: a body too large, a media type it does not read", async () => {
    const post = (body: string, type: string) =>
      fetch(`${agg.url}/api/banks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': type },
        body,
      });
    const big = await post(JSON.stringify({ id: 'x'.repeat(2 * 1024 * 1024) }), 'application/json');
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: 'payload_too_large' });
    const text = await post('<id>x</id>', 'application/xml');
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ error: 'unsupported_media_type' });
    const broken = await post('{"id":', 'application/json');
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error: 'bad_request' });
  });

  it('answers unknown rounds and routes with 404 and a message', async () => {
    const r = await api<{ message: string }>(agg, 'GET', '/api/rounds/999', undefined, VIEWER);
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('no round 999');
  });
});
