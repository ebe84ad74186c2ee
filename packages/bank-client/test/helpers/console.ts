/**
 * Shared setup of the console tests: a bank state directory with a real global model
 * (an MLP trained for a few epochs on synthetic Kaggle-layout data, saved with its
 * scaler as the daemon saves it), a console on a real socket with a real SQLite file,
 * people created through the accounts core, and a small HTTP client with a cookie jar
 * that sends the CSRF header as the React app does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  computeScalerStats,
  generateSynthetic,
  KAGGLE_FEATURES,
  scalerFromStats,
  applyScaler,
} from '@finsecure/common/data';
import { initBackend, initWeights, manifestFor, MlpTrainer, saveModelDir, type MlpSpec } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import { buildConsole, type BankConsole, type ConsoleOptions } from '../../src/console/server.js';

export const PASSWORD = 'correct horse battery staple 42';
export const SPEC: MlpSpec = { inputSize: 30, hidden: [16, 8], dropout: 0 };

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Trains a small model on synthetic data and saves it as `<stateDir>/model` (version 7). */
export async function writeTrainedModel(stateDir: string, seed = 1): Promise<void> {
  await initBackend('cpu');
  const ds = generateSynthetic({ rows: 4000, fraudRate: 0.05, seed });
  const scaler = scalerFromStats(computeScalerStats(ds));
  const scaled = applyScaler(ds, scaler);
  const w = initWeights(SPEC, createRng(seed));
  const t = new MlpTrainer(SPEC, { data: w.data, manifest: manifestFor(SPEC) });
  await t.train(scaled, { epochs: 4, batchSize: 128, learningRate: 0.01, rng: createRng(seed + 1) });
  const trained = t.getWeights();
  t.dispose();
  await saveModelDir(path.join(stateDir, 'model'), SPEC, trained, 7, {
    mean: Array.from(scaler.mean),
    std: Array.from(scaler.std),
  });
}

/** A CSV in the Kaggle layout with id columns, from synthetic rows (label column kept). */
export function syntheticCsv(rows: number, seed: number): { text: string; frauds: number } {
  const ds = generateSynthetic({ rows, fraudRate: 0.05, seed });
  const lines = [['transaction_id', 'account_id', ...KAGGLE_FEATURES, 'Class'].join(',')];
  let frauds = 0;
  for (let i = 0; i < rows; i++) {
    const f = Array.from(ds.features.subarray(i * 30, (i + 1) * 30), (x) => String(x));
    lines.push([`tx-${seed}-${i + 1}`, `acct-${i % 17}`, ...f, String(ds.labels[i])].join(','));
    frauds += ds.labels[i]!;
  }
  return { text: lines.join('\n') + '\n', frauds };
}

/** One synthetic transaction as the JSON API takes it. */
export function jsonTransaction(seed: number, i = 0): Record<string, number> {
  const ds = generateSynthetic({ rows: i + 1, fraudRate: 0.5, seed });
  return Object.fromEntries(KAGGLE_FEATURES.map((n, j) => [n, ds.features[i * 30 + j]!]));
}

export interface RunningConsole extends BankConsole {
  url: string;
  stateDir: string;
}

export async function startConsole(stateDir: string, o: Partial<ConsoleOptions> = {}): Promise<RunningConsole> {
  const c = await buildConsole({ stateDir, appDir: null, backend: 'cpu', ...o });
  const url = await c.app.listen({ host: '127.0.0.1', port: 0 });
  return { ...c, url, stateDir };
}

/** Creates an account with a password (no one-time password to change). */
export async function addPerson(c: BankConsole, username: string, role: 'analyst' | 'ml-engineer' | 'admin') {
  await c.accounts.createAccount({ username, role, password: PASSWORD, displayName: username }, 'test');
}

/**
 * A console on a trained model (writeTrainedModel) in a fresh state directory named after
 * `prefix`, with `people` (username → role) created and each signed in by its own Client.
 */
export async function consoleWithPeople(
  prefix: string,
  people: Record<string, 'analyst' | 'ml-engineer' | 'admin'>,
  o: Partial<ConsoleOptions> = {},
): Promise<{ dir: string; c: RunningConsole; clients: Record<string, Client> }> {
  const dir = tempDir(prefix);
  await writeTrainedModel(dir);
  const c = await startConsole(dir, o);
  const clients: Record<string, Client> = {};
  for (const [username, role] of Object.entries(people)) {
    await addPerson(c, username, role);
    clients[username] = new Client(c.url);
    await clients[username].login(username);
  }
  return { dir, c, clients };
}

/** HTTP over the real socket with a cookie jar; sends X-CSRF-Token from the csrf cookie. */
export class Client {
  private cookies = new Map<string, string>();
  constructor(private readonly base: string) {}

  async login(username: string, password = PASSWORD): Promise<void> {
    const r = await this.post('/api/auth/login', { username, password });
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  }

  async request(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
    const h: Record<string, string> = { ...headers };
    if (this.cookies.size) h.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const csrf = this.cookies.get('fsb_csrf');
    if (csrf && method !== 'GET' && !('x-csrf-token' in h)) h['x-csrf-token'] = csrf;
    let payload: string | FormData | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json'; // a test may send it as something else
    }
    const res = await fetch(this.base + url, {
      method,
      headers: h,
      ...(payload !== undefined ? { body: payload } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const k = pair!.slice(0, eq);
      const v = pair!.slice(eq + 1);
      if (v === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  get(url: string) {
    return this.request('GET', url);
  }
  post(url: string, body?: unknown, headers?: Record<string, string>) {
    return this.request('POST', url, body, headers);
  }
  put(url: string, body?: unknown) {
    return this.request('PUT', url, body);
  }

  upload(url: string, name: string, content: string | Uint8Array) {
    const form = new FormData();
    form.append('file', new Blob([content]), name);
    return this.request('POST', url, form);
  }
}
