/**
 * The bank's state at rest (src/state-crypto): AES-256-GCM envelopes, the start-up key
 * check, the one-time migration of plaintext state, and a grep of the whole state
 * directory after real use (scoring, decisions, a model, the privacy ledger, audit heads,
 * pinned identities) for the plaintext it must not contain.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWeights, manifestFor } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import {
  createEnvelopeCipher,
  loadStateModel,
  openBankState,
  PLAINTEXT_STATE,
  resolveStateKey,
  saveStateModel,
  StateCryptoError,
  StateKeyError,
  STATE_KEY_MARKER,
  appendStateLine,
  readStateFile,
  readStateLines,
  writeStateFile,
} from '../src/state-crypto/index.js';
import { LocalPrivacyLedger } from '../src/privacy.js';
import { AuditHeadLog, readAuditHeads } from '../src/audit-heads.js';
import { PinnedIdentities } from '../src/secagg/identity.js';
import {
  addPerson,
  cleanup,
  Client,
  PASSWORD,
  SPEC,
  startConsole,
  syntheticCsv,
  tempDir,
  writeTrainedModel,
} from './helpers/console.js';

const quiet = pino({ level: 'silent' });
let dir: string;
beforeAll(() => {
  dir = tempDir('finsecure-state-crypto-');
});
afterAll(() => cleanup(dir));

/** Every file under `root`, recursively. */
function files(root: string): string[] {
  return readdirSync(root).flatMap((n) => {
    const p = path.join(root, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** Which of `needles` appear (as UTF-8 bytes) in some file under `root`, with the file. */
function grep(root: string, needles: string[]): string[] {
  const hits: string[] = [];
  for (const f of files(root)) {
    const bytes = readFileSync(f);
    for (const n of needles) if (bytes.includes(Buffer.from(n, 'utf8'))) hits.push(`${path.relative(root, f)}: ${n}`);
  }
  return hits;
}

describe('envelope (AES-256-GCM, one data key per value)', () => {
  const key = randomBytes(32);
  const c = createEnvelopeCipher(key);

  it('opens what it sealed, with fresh randomness each time, and only for the same context', () => {
    const a = c.seal(Buffer.from('tx-42 confirmed_fraud'), 'alerts.status');
    const b = c.seal(Buffer.from('tx-42 confirmed_fraud'), 'alerts.status');
    expect(a.equals(b)).toBe(false);
    expect(a.includes(Buffer.from('tx-42'))).toBe(false);
    expect(c.open(a, 'alerts.status').toString()).toBe('tx-42 confirmed_fraud');
    expect(() => c.open(a, 'alerts.note')).toThrow(StateCryptoError);
  });

  it('refuses a flipped bit, another key, and plaintext', () => {
    const a = c.seal(Buffer.from('hello'), 'x');
    const flipped = Buffer.from(a);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => c.open(flipped, 'x')).toThrow(/authentication failed/);
    const other = createEnvelopeCipher(randomBytes(32));
    expect(() => other.open(a, 'x')).toThrow(/encrypted under state key [0-9a-f]{16}, the configured key is/);
    expect(() => c.open(Buffer.from('{"plain":true}'), 'x')).toThrow(/not encrypted/);
    expect(() => PLAINTEXT_STATE.open(a, 'privacy.json')).toThrow(/--state-key-file \/ FINSECURE_STATE_KEY_FILE/);
  });

  it('opens values sealed under a previous key when given a keyring (rotation)', () => {
    const next = createEnvelopeCipher(randomBytes(32), [key]);
    expect(next.open(c.seal(Buffer.from('old'), 'x'), 'x').toString()).toBe('old');
  });
});

describe('the state key at start-up', () => {
  it('reads the key from the flag file, then FINSECURE_STATE_KEY_FILE, then FINSECURE_STATE_KEY, and names a bad one', () => {
    const k = randomBytes(32);
    const file = path.join(dir, 'k1.key');
    writeFileSync(file, `${k.toString('base64')}\n`);
    expect(resolveStateKey({ file })!.key.equals(k)).toBe(true);
    expect(resolveStateKey({ env: { FINSECURE_STATE_KEY_FILE: file } })!.source).toMatch(/^FINSECURE_STATE_KEY_FILE/);
    expect(resolveStateKey({ env: { FINSECURE_STATE_KEY: k.toString('hex') } })!.key.equals(k)).toBe(true);
    expect(resolveStateKey({ env: {} })).toBeNull();
    expect(() => resolveStateKey({ file: path.join(dir, 'nope.key') })).toThrow(
      /--state-key-file .*nope.key: cannot read the state key \(no such file\)/,
    );
    expect(() => resolveStateKey({ env: { FINSECURE_STATE_KEY: 'short' } })).toThrow(
      /FINSECURE_STATE_KEY: a state key must be 32 random bytes/,
    );
  });

  it('refuses an encrypted directory without its key, or with another key, naming the settings', () => {
    const sd = path.join(dir, 'keycheck');
    const k = { key: randomBytes(32), source: 'test' };
    expect(openBankState(sd, k).cipher.encrypted).toBe(true);
    expect(() => openBankState(sd, null)).toThrow(StateKeyError);
    expect(() => openBankState(sd, null)).toThrow(
      /is encrypted at rest \(key id [0-9a-f]{16}\) but no state key is configured: set --state-key-file \/ FINSECURE_STATE_KEY_FILE \/ FINSECURE_STATE_KEY/,
    );
    expect(() => openBankState(sd, { key: randomBytes(32), source: '--state-key-file wrong.key' })).toThrow(
      /the state key from --state-key-file wrong.key \(key id [0-9a-f]{16}\) is not the key .* is encrypted under/,
    );
    expect(openBankState(sd, k).cipher.keyId).toBe(createEnvelopeCipher(k.key).keyId);
  });

  it('leaves a damaged state file as it is at the migration, and names it', () => {
    const k = { key: randomBytes(32), source: 'test' };
    // A sealed file cut short, and a plaintext one that is no JSON: neither is sealed (again).
    const cut = path.join(dir, 'damaged-cut');
    openBankState(cut, k);
    const ledger = path.join(cut, 'privacy.json');
    writeStateFile(cipherOf(cut, k), ledger, '{"spent": []}');
    const short = readFileSync(ledger).subarray(0, 20);
    writeFileSync(ledger, short);
    expect(() => openBankState(cut, k)).toThrow(
      new RegExp(`${ledger.replace(/[.]/g, '\\.')} is damaged \\(an encrypted file cut short\\)`),
    );
    expect(readFileSync(ledger)).toEqual(short);

    const garbage = path.join(dir, 'damaged-plain');
    openBankState(garbage, k);
    const feedback = path.join(garbage, 'feedback.json');
    writeFileSync(feedback, 'garbage, not JSON');
    expect(() => openBankState(garbage, k)).toThrow(/feedback\.json is damaged \(neither encrypted nor valid JSON: /);
    expect(readFileSync(feedback, 'utf8')).toBe('garbage, not JSON');
  });

  it('opens a state directory renamed, copied or restored under another name', () => {
    const k = { key: randomBytes(32), source: 'test' };
    const sd = path.join(dir, 'bank-state');
    const cipher = cipherOf(sd, k);
    writeStateFile(cipher, path.join(sd, 'feedback.json'), '{"rounds":[],"evaluations":[]}');
    appendStateLine(cipher, path.join(sd, 'audit-heads.jsonl'), '{"at":1,"roundId":1,"seq":3,"hash":"ab"}');
    const restored = path.join(dir, 'bank-state.restored');
    cpSync(sd, restored, { recursive: true });
    const again = cipherOf(restored, k);
    expect(readStateFile(again, path.join(restored, 'feedback.json'))!.toString()).toBe(
      '{"rounds":[],"evaluations":[]}',
    );
    expect(readStateLines(again, path.join(restored, 'audit-heads.jsonl'))).toEqual([
      '{"at":1,"roundId":1,"seq":3,"hash":"ab"}',
    ]);
  });

  it('reads files an older version sealed for the directory name, and reseals them at start so a rename works', () => {
    const k = { key: randomBytes(32), source: 'test' };
    const sd = path.join(dir, 'old-state');
    const cipher = cipherOf(sd, k);
    // What versions before 2026-12-04 wrote: the context named the state directory.
    const privacy = path.join(sd, 'privacy.json');
    const heads = path.join(sd, 'audit-heads.jsonl');
    writeFileSync(privacy, cipher.seal(Buffer.from('{"spent":[]}'), 'file:old-state/privacy.json'));
    writeFileSync(
      heads,
      `${cipher.seal(Buffer.from('{"seq":1}'), 'file:old-state/audit-heads.jsonl').toString('base64')}\n`,
    );
    const before = readFileSync(privacy);
    expect(readStateFile(cipher, privacy)!.toString()).toBe('{"spent":[]}');
    // Restarting resealed both; the renamed directory opens.
    cipherOf(sd, k);
    expect(readFileSync(privacy).equals(before)).toBe(false);
    const renamed = path.join(dir, 'old-state-renamed');
    renameSync(sd, renamed);
    const c2 = cipherOf(renamed, k);
    expect(readStateFile(c2, path.join(renamed, 'privacy.json'))!.toString()).toBe('{"spent":[]}');
    expect(readStateLines(c2, path.join(renamed, 'audit-heads.jsonl'))).toEqual(['{"seq":1}']);
  });

  it('refuses another key for a directory whose state-key.json is gone but whose files are sealed', () => {
    const k = { key: randomBytes(32), source: 'test' };
    const sd = path.join(dir, 'lost-marker');
    writeStateFile(cipherOf(sd, k), path.join(sd, 'privacy.json'), '{"spent":[]}');
    rmSync(path.join(sd, STATE_KEY_MARKER));
    expect(() => openBankState(sd, { key: randomBytes(32), source: 'other.key' })).toThrow(
      /has no state-key\.json, but .*privacy\.json is encrypted under state key [0-9a-f]{16}, not the configured key [0-9a-f]{16}/,
    );
    expect(existsSync(path.join(sd, STATE_KEY_MARKER))).toBe(false);
    // The right key writes the marker again and reads the file.
    expect(readStateFile(cipherOf(sd, k), path.join(sd, 'privacy.json'))!.toString()).toBe('{"spent":[]}');
    expect(existsSync(path.join(sd, STATE_KEY_MARKER))).toBe(true);
  });

  it('leaves out a last line torn by a crash, saying so, and appends the next record on a line of its own', () => {
    const k = { key: randomBytes(32), source: 'test' };
    const sd = path.join(dir, 'torn-heads');
    const cipher = cipherOf(sd, k);
    const log = path.join(sd, 'audit-heads.jsonl');
    for (const seq of [1, 2, 3]) appendStateLine(cipher, log, `{"seq":${seq}}`);
    const whole = readFileSync(log);
    writeFileSync(log, whole.subarray(0, whole.length - 20)); // the third record cut short
    const told: string[] = [];
    expect(readStateLines(cipher, log, (m) => told.push(m))).toEqual(['{"seq":1}', '{"seq":2}']);
    expect(told).toEqual([`${log}: line 3 was cut short (a crash while it was written?); it is left out`]);
    appendStateLine(cipher, log, '{"seq":4}');
    expect(readStateLines(cipher, log)).toEqual(['{"seq":1}', '{"seq":2}', '{"seq":4}']);
    // Damage anywhere else is named with its line.
    const lines = readFileSync(log, 'utf8').split('\n');
    lines[1] = lines[1]!.slice(0, 10) + (lines[1]![10] === 'A' ? 'B' : 'A') + lines[1]!.slice(11);
    writeFileSync(log, lines.join('\n'));
    expect(() => readStateLines(cipher, log)).toThrow(new RegExp(`${log.replace(/[.]/g, '\\.')}, line 2: `));
  });

  it('creates a fresh state directory, and the folders in it, readable by the bank alone (0700)', () => {
    const sd = path.join(dir, 'modes', 'state');
    const cipher = openBankState(sd, { key: randomBytes(32), source: 'test' }).cipher;
    writeStateFile(cipher, path.join(sd, 'models', 'v1', 'weights.bin'), 'x');
    for (const d of [sd, path.join(sd, 'models'), path.join(sd, 'models', 'v1')])
      expect((statSync(d).mode & 0o777).toString(8), d).toBe('700');
  });
});

describe('the CLI at start-up (dist/)', () => {
  const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
  const run = (args: string[], env: Record<string, string> = {}) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FINSECURE_')));
    return spawnSync(process.execPath, [cli, ...args], {
      env: { ...clean, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  };

  it('stops `console` and `users` on an encrypted directory without its key or with another, naming the settings', () => {
    const sd = path.join(dir, 'cli');
    const key = randomBytes(32);
    openBankState(sd, { key, source: 'test' });
    const missing = run(['console', '--state-dir', sd, '--console-port', '0']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(
      /is encrypted at rest \(key id [0-9a-f]{16}\) but no state key is configured: set --state-key-file \/ FINSECURE_STATE_KEY_FILE \/ FINSECURE_STATE_KEY/,
    );
    const wrong = run(['users', 'list', '--state-dir', sd], {
      FINSECURE_STATE_KEY: randomBytes(32).toString('base64'),
    });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/the state key from FINSECURE_STATE_KEY \(key id [0-9a-f]{16}\) is not the key/);
    const keyFile = path.join(dir, 'cli.key');
    writeFileSync(keyFile, key.toString('hex'));
    const right = run(['users', 'list', '--state-dir', sd, '--state-key-file', keyFile]);
    expect(right.stderr).toBe('');
    expect(right.status).toBe(0);
    expect(run(['console', '--help']).stdout).toMatch(/--state-key-file <file>/);
    // The audit heads, sealed on disk, are printed in clear for the aggregator's verifier.
    new AuditHeadLog(sd, quiet).record(4, { seq: 9, hash: 'ef'.repeat(32) });
    expect(readFileSync(path.join(sd, 'audit-heads.jsonl'), 'utf8')).not.toMatch(/"seq"/);
    const heads = run(['audit-heads', '--state-dir', sd, '--state-key-file', keyFile]);
    expect(heads.status).toBe(0);
    expect(JSON.parse(heads.stdout.trim())).toMatchObject({ roundId: 4, seq: 9, hash: 'ef'.repeat(32) });
  }, 120_000);
});

describe('a bank state directory after real use', () => {
  it('holds no transaction id, amount, note or label in plaintext, before or after a migration from plaintext', async () => {
    const sd = path.join(dir, 'bank');
    // 1. An existing plaintext state, as an earlier version left it.
    await writeTrainedModel(sd);
    const { text } = syntheticCsv(400, 5);
    const plain = await startConsole(sd);
    await addPerson(plain, 'ana', 'analyst');
    await addPerson(plain, 'eng', 'ml-engineer');
    const e = new Client(plain.url);
    await e.login('eng', PASSWORD);
    expect((await e.put('/api/threshold', { kind: 'probability', value: 0.2 })).status).toBe(200);
    const a = new Client(plain.url);
    await a.login('ana', PASSWORD);
    expect((await a.upload('/api/uploads', 'day-1.csv', text)).status).toBe(201);
    await plain.explainQueue.idle();
    const before = (await a.get('/api/alerts?limit=500')).body.alerts as {
      id: number;
      transactionId: string;
      amount: number;
    }[];
    expect(before.length).toBeGreaterThan(3);
    expect(
      (
        await a.post(`/api/alerts/${before[0]!.id}/decision`, {
          decision: 'confirmed_fraud',
          note: 'xylophonic cardholder confirmed',
        })
      ).status,
    ).toBe(201);
    await plain.close();
    new LocalPrivacyLedger(sd).record(1.1);
    new AuditHeadLog(sd, quiet).record(1, { seq: 3, hash: 'ab'.repeat(32) });
    new PinnedIdentities(sd).check(new Map([['bank-zanzibar', new Uint8Array(32).fill(7)]]));
    expect(grep(sd, [before[0]!.transactionId, 'xylophonic', 'confirmed_fraud'])).not.toEqual([]);

    // 2. Started with a key: the files are sealed at once, the database when it opens.
    const key = { key: randomBytes(32), source: 'test' };
    const { cipher, migrated } = openBankState(sd, key);
    expect(migrated.sort()).toEqual(
      ['audit-heads.jsonl', 'model/model.json', 'model/weights.bin', 'privacy.json', 'secagg-identities.json'].sort(),
    );
    const enc = await startConsole(sd);
    const b = new Client(enc.url);
    await b.login('ana', PASSWORD);
    // Still readable through the console, filters on sealed columns included.
    const decided = await b.get('/api/alerts?status=confirmed_fraud');
    expect(decided.body.total).toBe(1);
    expect(decided.body.alerts[0].transactionId).toBe(before[0]!.transactionId);
    expect((await b.get(`/api/alerts/${before[0]!.id}`)).body.decisions[0].note).toBe(
      'xylophonic cardholder confirmed',
    );
    expect(enc.db.listAudit().map((e) => e.type)).toContain('state.encrypted');
    expect(enc.db.verifyAudit().ok).toBe(true);
    // New state written encrypted: another upload, decisions, a model version, ledger, heads.
    const { text: text2 } = syntheticCsv(300, 6);
    expect((await b.upload('/api/uploads', 'day-2.csv', text2)).status).toBe(201);
    await enc.explainQueue.idle();
    const all = (await b.get('/api/alerts?limit=500')).body.alerts as {
      id: number;
      transactionId: string;
      amount: number;
    }[];
    const fresh = all.filter((x) => x.transactionId.startsWith('tx-6-'));
    expect(fresh.length).toBeGreaterThan(1);
    await b.post(`/api/alerts/${fresh[0]!.id}/decision`, {
      decision: 'false_positive',
      note: 'quokka travel notice on file',
    });
    await b.post(`/api/alerts/${fresh[1]!.id}/decision`, { decision: 'not_sure', note: 'asked branch' });
    const amounts = await b.get(`/api/alerts?minAmount=0&limit=500`);
    expect(amounts.body.total).toBe(all.filter((x) => x.amount >= 0).length);
    expect((await b.get('/api/alerts?status=false_positive')).body.total).toBe(1);
    await enc.close();
    new LocalPrivacyLedger(sd).record(1.1);
    expect(new LocalPrivacyLedger(sd).epsilon(1e-5)).toBeGreaterThan(0);
    new AuditHeadLog(sd, quiet).record(2, { seq: 5, hash: 'cd'.repeat(32) });
    expect(readAuditHeads(sd).map((h) => h.seq)).toEqual([3, 5]);
    expect(() => new PinnedIdentities(sd).check(new Map([['bank-zanzibar', new Uint8Array(32).fill(8)]]))).toThrow(
      /bank-zanzibar/,
    );
    const w = initWeights(SPEC, createRng(3));
    await saveStateModel(
      cipher,
      path.join(sd, 'models', 'v8'),
      SPEC,
      { data: w.data, manifest: manifestFor(SPEC) },
      8,
      { mean: Array(30).fill(0.5), std: Array(30).fill(2) },
    );
    expect((await loadStateModel(cipher, path.join(sd, 'models', 'v8'))).metadata.modelVersion).toBe(8);
    await expect(loadStateModel(PLAINTEXT_STATE, path.join(sd, 'model'))).rejects.toThrow(/no state key is configured/);

    // 3. The grep: nothing an attacker with the disk could read.
    const secrets = [
      ...all.map((x) => x.transactionId),
      ...all
        .filter((x) => x.amount !== null)
        .map((x) => String(x.amount))
        .filter((s) => s.length >= 6),
      'xylophonic',
      'quokka',
      'travel notice',
      'confirmed_fraud',
      'false_positive',
      'not_sure',
      'bank-zanzibar',
      'weightsManifest',
      'Dense',
      'roundId',
      '"seq"',
    ];
    expect(secrets.length).toBeGreaterThan(20);
    expect(grep(sd, secrets)).toEqual([]);
    expect(files(sd).map((f) => path.relative(sd, f))).toContain(STATE_KEY_MARKER);
  }, 120_000);
});

/** The cipher a directory is opened with (the same key reopens it). */
function cipherOf(stateDir: string, key: { key: Buffer; source: string }) {
  return openBankState(stateDir, key).cipher;
}
